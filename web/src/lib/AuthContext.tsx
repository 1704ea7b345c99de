import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ErrorResponse, type User } from 'oidc-client-ts';
import { useNavigate } from 'react-router';
import { getManager, loadConfig, returnPath, sessionOf, type PortalConfig, type Role, type Session } from './auth';
import { setUnauthorizedHandler } from './api';
import { loginErrorText, PROBLEM_TEXT } from './i18n';

type Status = 'loading' | 'ready';

interface AuthValue {
  status: Status;
  session: Session | null;
  config: PortalConfig | null;
  error: string | null;
  login: (returnTo?: string) => Promise<void>;
  logout: () => Promise<void>;
  hasRole: (...roles: Role[]) => boolean;
  hasService: (name: string) => boolean;
}

const AuthContext = createContext<AuthValue | null>(null);

const SILENT_FAILED = 'ent.silent-failed';

interface LoginState {
  returnTo?: string;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>('loading');
  const [session, setSession] = useState<Session | null>(null);
  const [config, setConfig] = useState<PortalConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    let cancelled = false;
    const mgr = getManager();
    const loaded = (u: User) => setSession(sessionOf(u));
    const expired = () => {
      setSession(null);
      setError(PROBLEM_TEXT.unauthenticated);
    };
    mgr.events.addUserLoaded(loaded);
    mgr.events.addSilentRenewError(expired);
    mgr.events.addUserUnloaded(() => setSession(null));

    (async () => {
      const cfg = await loadConfig();
      if (cancelled) return;
      setConfig(cfg);
      const path = window.location.pathname;
      if (path === '/login/callback') {
        try {
          const user = await mgr.signinRedirectCallback();
          sessionStorage.removeItem(SILENT_FAILED);
          if (cancelled) return;
          setSession(sessionOf(user));
          const to = (user.state as LoginState | undefined)?.returnTo;
          navigate(to && to.startsWith('/') && !to.startsWith('/login') ? to : '/portail', { replace: true });
        } catch (e) {
          // Said by the error's code, never by the provider's words (they may be English): a
          // silent login that found no session (login_required) says nothing; a callback that is
          // not an OAuth answer (stale or replayed state) is a failed login.
          sessionStorage.setItem(SILENT_FAILED, '1');
          const text = loginErrorText(e instanceof ErrorResponse ? e.error ?? undefined : undefined);
          if (text) setError(text);
          navigate('/login', { replace: true, state: { from: (e as { state?: LoginState })?.state?.returnTo } });
        }
        setStatus('ready');
        return;
      }
      const user = await mgr.getUser();
      if (user && !user.expired) {
        setSession(sessionOf(user));
        setStatus('ready');
        return;
      }
      // Tokens are kept in memory only: after a reload, ask the provider whether its session is
      // still open (no form is shown with prompt=none; login_required comes back otherwise).
      if (path !== '/login' && !sessionStorage.getItem(SILENT_FAILED)) {
        await mgr.signinRedirect({ prompt: 'none', state: { returnTo: returnPath() } satisfies LoginState });
        return;
      }
      setStatus('ready');
    })().catch(() => {
      setError('Le portail ne peut pas joindre le serveur : vérifiez votre connexion, puis rechargez la page.');
      setStatus('ready');
    });
    return () => {
      cancelled = true;
      mgr.events.removeUserLoaded(loaded);
      mgr.events.removeSilentRenewError(expired);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // The API refused the token (401, code "unauthenticated"): it expired, was revoked, or the
  // account was closed. The session ends here and the protected page sends the user to the login
  // page (RequireAuth), which says why in French and brings them back afterwards. Any other code
  // on a 401 is not a session's end and is left to the page that asked.
  useEffect(() => {
    setUnauthorizedHandler((code) => {
      if (code !== undefined && code !== 'unauthenticated') return;
      setError(PROBLEM_TEXT.unauthenticated);
      setSession(null);
      getManager()
        .removeUser()
        .catch(() => {
          /* the tokens are in memory only: nothing left to clear */
        });
    });
  }, []);

  const login = useCallback(async (returnTo?: string) => {
    sessionStorage.removeItem(SILENT_FAILED);
    await getManager().signinRedirect({ state: { returnTo: returnTo || '/portail' } satisfies LoginState });
  }, []);

  const logout = useCallback(async () => {
    const mgr = getManager();
    const user = await mgr.getUser();
    sessionStorage.setItem(SILENT_FAILED, '1');
    try {
      await mgr.revokeTokens(['refresh_token']);
    } catch {
      /* the provider ends the session below anyway */
    }
    // The page leaves for the provider, which sends it back to /login: the session is not cleared
    // first, which would show /login for a moment and then leave it (and race a navigation made
    // meanwhile). It is cleared here only if the provider cannot be reached.
    try {
      await mgr.signoutRedirect({ id_token_hint: user?.id_token });
    } catch {
      await mgr.removeUser();
      setSession(null);
    }
  }, []);

  // hasService keeps its identity while the configuration does (not at each token refresh), so
  // that effects which depend on it do not run again then.
  const hasService = useCallback((name: string) => !!config && config.services.includes(name), [config]);
  const value = useMemo<AuthValue>(
    () => ({
      status,
      session,
      config,
      error,
      login,
      logout,
      hasRole: (...roles) => !!session && roles.some((r) => session.roles.includes(r)),
      hasService,
    }),
    [status, session, config, error, login, logout, hasService],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
