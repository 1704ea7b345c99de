import { useEffect } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { Spinner } from '../components/ui';

export function LoginPage() {
  const { status, session, login, error } = useAuth();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  useEffect(() => {
    document.title = 'Connexion — ENT';
  }, []);
  if (status === 'loading') return <main className="login-page"><Spinner /></main>;
  if (session) return <Navigate to={from || '/portail'} replace />;
  return (
    <main className="login-page">
      <div className="login-card">
        <div className="login-brand" aria-hidden="true">
          <span className="brand-mark">E</span>
        </div>
        <h1>Espace numérique de travail</h1>
        <p className="login-sub">Cours, notes et notifications de votre établissement, en un seul endroit.</p>
        {error && (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        )}
        <button type="button" className="button button-primary button-block" onClick={() => login(from)}>
          Se connecter
        </button>
        <p className="login-help">
          Première connexion ? Choisissez « Activer mon compte » sur la page de connexion et saisissez le code
          d'activation remis par votre établissement.
        </p>
      </div>
    </main>
  );
}
