// Login through OIDC authorization code + PKCE (oidc-client-ts) against the issuer that
// /config.json names: ENT's built-in provider or a Keycloak realm. The tokens live in memory only
// (InMemoryWebStorage): a reload asks the provider again with prompt=none, which answers at once
// while its session cookie is valid. Access tokens are refreshed (refresh_token grant) a minute
// before they expire.
import { InMemoryWebStorage, User, UserManager, WebStorageStateStore } from 'oidc-client-ts';

export interface PortalConfig {
  issuer: string;
  client_id: string;
  services: string[];
}

export type Role = 'etudiant' | 'enseignant' | 'admin';

export interface Session {
  user: User;
  id: string;
  name: string;
  email: string;
  roles: Role[];
}

let manager: UserManager | null = null;
let config: PortalConfig | null = null;

export async function loadConfig(): Promise<PortalConfig> {
  if (config) return config;
  const r = await fetch('/config.json', { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`config.json: ${r.status}`);
  config = (await r.json()) as PortalConfig;
  return config;
}

export function getManager(): UserManager {
  if (!manager) throw new Error('auth not initialised');
  return manager;
}

export async function initAuth(): Promise<UserManager> {
  if (manager) return manager;
  const cfg = await loadConfig();
  const origin = window.location.origin;
  manager = new UserManager({
    authority: cfg.issuer,
    client_id: cfg.client_id,
    redirect_uri: `${origin}/login/callback`,
    post_logout_redirect_uri: `${origin}/login`,
    response_type: 'code',
    scope: 'openid profile email',
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    // Only the PKCE verifier and state of a login in progress, removed at the callback.
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: 60,
    monitorSession: false,
    loadUserInfo: false,
    revokeTokenTypes: ['refresh_token'],
  });
  return manager;
}

function decodePayload(jwt: string): Record<string, unknown> {
  const parts = jwt.split('.');
  if (parts.length !== 3) return {};
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(b64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const ROLES: Role[] = ['etudiant', 'enseignant', 'admin'];

/** Roles as Keycloak carries them: realm_access.roles of the access token (else of the ID token). */
export function rolesOf(user: User): Role[] {
  const fromClaims = (claims: Record<string, unknown>): string[] => {
    const ra = claims.realm_access as { roles?: unknown } | undefined;
    return Array.isArray(ra?.roles) ? (ra!.roles as unknown[]).filter((r): r is string => typeof r === 'string') : [];
  };
  let roles = fromClaims(decodePayload(user.access_token));
  if (roles.length === 0) roles = fromClaims(user.profile as Record<string, unknown>);
  return ROLES.filter((r) => roles.includes(r));
}

export function sessionOf(user: User): Session {
  const at = decodePayload(user.access_token);
  const p = user.profile;
  const name =
    (p.name as string | undefined) ||
    (at.name as string | undefined) ||
    [p.given_name, p.family_name].filter(Boolean).join(' ') ||
    (p.preferred_username as string | undefined) ||
    '';
  return {
    user,
    id: (at.sub as string) || p.sub,
    name,
    email: (p.email as string | undefined) || (at.email as string | undefined) || '',
    roles: rolesOf(user),
  };
}

/** The current access token, refreshed first when it is about to expire. */
export async function accessToken(): Promise<string | null> {
  if (!manager) return null;
  let user = await manager.getUser();
  if (!user) return null;
  if ((user.expires_in ?? 0) < 15 && user.refresh_token) {
    try {
      user = await manager.signinSilent();
    } catch {
      return null;
    }
  }
  return user?.access_token ?? null;
}

export function returnPath(): string {
  const { pathname, search } = window.location;
  return pathname + search;
}
