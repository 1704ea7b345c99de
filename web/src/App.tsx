import type { ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { AuthProvider, useAuth } from './lib/AuthContext';
import { NotificationsProvider } from './lib/notifications';
import type { Role } from './lib/auth';
import { Layout } from './components/Layout';
import { PageTitle, Spinner } from './components/ui';
import { LoginPage } from './pages/Login';
import { PortailPage } from './pages/Portail';
import { CoursListPage, CoursDetailPage } from './pages/Cours';
import { NotesPage } from './pages/Notes';
import { AdminPage } from './pages/Admin';
import { NotificationsPage } from './pages/Notifications';

function FullPageSpinner() {
  return (
    <main className="login-page">
      <Spinner label="Connexion en cours…" />
    </main>
  );
}

/** Pages for any logged-in user: others go to /login, which brings them back here afterwards. */
function PrivateRoute({ children, roles }: { children: ReactNode; roles?: Role[] }) {
  const { status, session, hasRole } = useAuth();
  const location = useLocation();
  if (status === 'loading') return <FullPageSpinner />;
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (roles && !hasRole(...roles))
    return (
      <Layout>
        <Forbidden />
      </Layout>
    );
  return <Layout>{children}</Layout>;
}

function AdminRoute({ children }: { children: ReactNode }) {
  return <PrivateRoute roles={['admin']}>{children}</PrivateRoute>;
}

function Forbidden() {
  return (
    <div data-testid="forbidden">
      <PageTitle title="Accès refusé" />
      <div className="card">
        <p>Cette page est réservée aux administrateurs de l'établissement.</p>
        <p>
          <Link to="/portail">Retour au tableau de bord</Link>
        </p>
      </div>
    </div>
  );
}

function NotFound() {
  return (
    <>
      <PageTitle title="Page introuvable" />
      <div className="card">
        <p>Cette adresse ne correspond à aucune page du portail.</p>
        <p>
          <Link to="/portail">Retour au tableau de bord</Link>
        </p>
      </div>
    </>
  );
}

function Routed() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/login/callback" element={<FullPageSpinner />} />
      <Route path="/" element={<Navigate to="/portail" replace />} />
      <Route path="/portail" element={<PrivateRoute><PortailPage /></PrivateRoute>} />
      <Route path="/cours" element={<PrivateRoute><CoursListPage /></PrivateRoute>} />
      <Route path="/cours/:id" element={<PrivateRoute><CoursDetailPage /></PrivateRoute>} />
      <Route path="/notes" element={<PrivateRoute><NotesPage /></PrivateRoute>} />
      <Route path="/notifications" element={<PrivateRoute><NotificationsPage /></PrivateRoute>} />
      <Route path="/admin" element={<AdminRoute><AdminPage /></AdminRoute>} />
      <Route path="/admin/:section" element={<AdminRoute><AdminPage /></AdminRoute>} />
      <Route path="*" element={<PrivateRoute><NotFound /></PrivateRoute>} />
    </Routes>
  );
}

export function App() {
  return (
    <AuthProvider>
      <NotificationsProvider>
        <Routed />
      </NotificationsProvider>
    </AuthProvider>
  );
}
