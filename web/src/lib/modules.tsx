// What a portal module is, and which modules the current user sees. The list itself is in
// src/modules.tsx: it drives the routes (App.tsx), the navigation (Layout.tsx) and the dashboard
// tiles (Portail.tsx), which read it through ModulesProvider / useModules().
import { createContext, useContext, useMemo, type ComponentType, type ReactNode } from 'react';
import { useAuth } from './AuthContext';
import type { Role } from './auth';

export interface PortalModule {
  /** The page's address: '/cours'. Also the module's key. */
  path: string;
  /** Its name in the navigation and on its dashboard tile, as users read it (French). */
  title: string;
  /**
   * The service of the server it needs (a name of /config.json's `services`, i.e. of
   * `ent --services`): while the server does not run it, the module is hidden. Omitted: always shown.
   */
  service?: string;
  /** Who may open it: the others do not see it, and get "Accès refusé" at its address. Omitted: everyone logged in. */
  roles?: Role[];
  /**
   * Its icon: the path data (`d`) of a 24×24 SVG, to fill in currentColor with fill-rule evenodd.
   * Not drawn yet: the navigation and the tiles show titles only.
   */
  icon: string;
  /**
   * The page at `path`. Omitted while the service has no page in the portal yet: the module then
   * has no route and no navigation link, and its tile is shown greyed out, without a link.
   */
  page?: ComponentType;
  /** More addresses of the module, each with its page: [{ path: '/cours/:id', page: CoursDetailPage }]. */
  subpages?: { path: string; page: ComponentType }[];
  /**
   * A badge drawn after the title in the navigation (a component: an unread count kept live). It is
   * inside the link, so its text is part of the link's name: a short one ("3 non lus").
   */
  navBadge?: ComponentType;
  /** The dashboard tile: a line of text, and an optional badge (a component drawn in the tile). Omitted: no tile. */
  tile?: { text: string; Badge?: ComponentType };
}

const ModulesContext = createContext<readonly PortalModule[]>([]);

export function ModulesProvider({ modules, children }: { modules: readonly PortalModule[]; children: ReactNode }) {
  return <ModulesContext.Provider value={modules}>{children}</ModulesContext.Provider>;
}

type WithTile = PortalModule & Required<Pick<PortalModule, 'tile'>>;

/**
 * The modules the current user sees (their service runs and their role allows them), in list
 * order: `nav`, those with a page; `tiles`, those with a dashboard tile.
 */
export function useModules(): { all: readonly PortalModule[]; nav: PortalModule[]; tiles: WithTile[] } {
  const all = useContext(ModulesContext);
  const { config, session } = useAuth();
  return useMemo(() => {
    const services = config?.services ?? [];
    const roles = session?.roles ?? [];
    const shown = all.filter((m) => (!m.service || services.includes(m.service)) && (!m.roles || m.roles.some((r) => roles.includes(r))));
    return { all, nav: shown.filter((m) => m.page), tiles: shown.filter((m): m is WithTile => !!m.tile) };
  }, [all, config, session?.roles]);
}
