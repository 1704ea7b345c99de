// The portal's modules: one entry each. The routes (App.tsx), the navigation (Layout.tsx) and the
// dashboard tiles (pages/Portail.tsx) are all made from this list, in this order.
//
// A new service adds its entry here (and its page under pages/): its address, its title, the
// service it needs, who may open it, its icon, its page, and what its dashboard tile says. An
// entry without a page announces a service that the server may already run but the portal has
// no page for yet: a greyed-out tile, no link. See PortalModule (lib/modules.tsx) and docs/portal.md.
import type { PortalModule } from './lib/modules';
import { PortailPage } from './pages/Portail';
import { CoursDetailPage, CoursListPage, MaterialPage } from './pages/Cours';
import { ChatPage } from './pages/Chat';
import { NotesPage } from './pages/Notes';
import { NotificationsPage, UnreadBadge } from './pages/Notifications';
import { AdminPage } from './pages/Admin';
import { CalendarPage, CalendarTileBadge } from './pages/Calendar';
import { MailNavBadge, MailTileBadge, MessageriePage } from './pages/Messagerie';
import { SupportPage, SupportTicketPage } from './pages/Support';

export const MODULES: readonly PortalModule[] = [
  {
    path: '/portail',
    title: 'Tableau de bord',
    icon: 'M12 3 2 11h3v10h6v-6h2v6h6V11h3z',
    page: PortailPage,
  },
  {
    path: '/cours',
    title: 'Cours',
    service: 'cours',
    icon: 'M6 2h12a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm1 3v6l2.5-1.5L12 11V5z',
    page: CoursListPage,
    subpages: [
      { path: '/cours/:id', page: CoursDetailPage },
      { path: '/cours/:id/materials/:mid', page: MaterialPage },
    ],
    tile: { text: 'Supports de cours et documents' },
  },
  {
    path: '/notes',
    title: 'Notes',
    service: 'notes',
    icon: 'M3 21v-2h18v2zm1-4v-6h3v6zm6.5 0V4h3v13zM17 17V8h3v9z',
    page: NotesPage,
    tile: { text: 'Évaluations, moyennes et bulletins' },
  },
  {
    path: '/notifications',
    title: 'Notifications',
    service: 'notifications',
    icon: 'M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-5v-6a7 7 0 0 0-5.5-6.8V3a1.5 1.5 0 0 0-3 0v1.2A7 7 0 0 0 5 11v6l-2 1.5v.5h18v-.5z',
    page: NotificationsPage,
    tile: { text: 'Nouveautés qui vous concernent', Badge: UnreadBadge },
  },
  {
    path: '/calendar',
    title: 'Emploi du temps',
    service: 'calendar',
    icon: 'M7 2h2v2h6V2h2v2h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2zM5 9v11h14V9zm2 2h4v4H7z',
    page: CalendarPage,
    tile: { text: 'Cours, travail à faire et événements', Badge: CalendarTileBadge },
  },
  {
    path: '/messagerie',
    title: 'Messagerie',
    service: 'messagerie',
    icon: 'M3 4h18a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 3.4V18h16V7.4l-8 5.1z',
    page: MessageriePage,
    navBadge: MailNavBadge,
    tile: { text: "Messages avec l'établissement", Badge: MailTileBadge },
  },
  {
    path: '/support',
    title: 'Assistance',
    service: 'support',
    icon: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm-1.2 13.5v2.4h2.4v-2.4zM12 6a4 4 0 0 0-4 4h2.4a1.6 1.6 0 1 1 2.4 1.4c-1.2.7-2 1.6-2 3.1h2.4c0-.8.4-1.2 1.1-1.6A4 4 0 0 0 12 6z',
    page: SupportPage,
    subpages: [
      { path: '/support/demandes/:id', page: SupportTicketPage },
      { path: '/support/:section', page: SupportPage },
    ],
    tile: { text: 'Demandes au support' },
  },
  {
    path: '/chat',
    title: 'Assistant',
    service: 'chatbot',
    icon: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9zm4 0v2h2V9zm4 0v2h2V9z',
    page: ChatPage,
    tile: { text: 'Questions sur vos cours' },
  },
  {
    path: '/admin',
    title: 'Administration',
    service: 'users',
    roles: ['admin'],
    icon: 'M12 2 4 5v6c0 5.2 3.4 9.8 8 11 4.6-1.2 8-5.8 8-11V5z',
    page: AdminPage,
    subpages: [{ path: '/admin/:section', page: AdminPage }],
    tile: { text: 'Comptes, classes et imports' },
  },
];
