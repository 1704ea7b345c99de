import type { ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { AuthProvider, useAuth } from './lib/AuthContext';
import { NotificationsProvider } from './lib/notifications';
import type { Role } from './lib/auth';
import { ROLE_LABELS } from './lib/format';
import { ModulesProvider } from './lib/modules';
import { ChatProvider } from './lib/chat';
import { MODULES } from './modules';
import { Layout } from './components/Layout';
import { PageTitle, Spinner } from './components/ui';
import { LoginPage } from './pages/Login';

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
        <Forbidden roles={roles} />
      </Layout>
    );
  return <Layout>{children}</Layout>;
}

function Forbidden({ roles }: { roles: Role[] }) {
  return (
    <div data-testid="forbidden">
      <PageTitle title="Accès refusé" />
      <div className="card">
        <p>
          {roles.length === 1 && roles[0] === 'admin'
            ? "Cette page est réservée aux administrateurs de l'établissement."
            : `Cette page est réservée aux profils suivants : ${roles.map((r) => ROLE_LABELS[r]).join(', ')}.`}
        </p>
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

/** Each module's pages (src/modules.tsx), behind the login and the module's roles. */
const moduleRoutes = MODULES.flatMap((m) =>
  (m.page ? [{ path: m.path, page: m.page }, ...(m.subpages ?? [])] : []).map(({ path, page: Page }) => (
    <Route key={path} path={path} element={<PrivateRoute roles={m.roles}><Page /></PrivateRoute>} />
  )),
);

function Routed() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/login/callback" element={<FullPageSpinner />} />
      <Route path="/" element={<Navigate to="/portail" replace />} />
      {moduleRoutes}
      <Route path="*" element={<PrivateRoute><NotFound /></PrivateRoute>} />
    </Routes>
  );
}

export function App() {
  return (
    <AuthProvider>
      <NotificationsProvider>
        <ChatProvider>
          <ModulesProvider modules={MODULES}>
            <Routed />
          </ModulesProvider>
        </ChatProvider>
      </NotificationsProvider>
    </AuthProvider>
  );
}
