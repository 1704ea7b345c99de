import { useEffect, useState, type ReactNode } from 'react';
import { NavLink, useLocation } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { ROLE_LABELS } from '../lib/format';
import { useModules } from '../lib/modules';
import { Bell } from './Bell';
import { ChatButton } from './ChatPanel';

export function Layout({ children }: { children: ReactNode }) {
  const { session, logout } = useAuth();
  const { nav } = useModules();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();

  useEffect(() => {
    setMenuOpen(false);
    // Move focus to the new page's title so screen readers announce the change.
    const h = document.getElementById('page-title');
    if (h) h.focus({ preventScroll: true });
  }, [location.pathname]);

  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setMenuOpen(false);
        document.querySelector<HTMLButtonElement>('.menu-button')?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  const role = session?.roles.includes('admin') ? 'admin' : session?.roles.includes('enseignant') ? 'enseignant' : 'etudiant';

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Aller au contenu
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon-button menu-button"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z" />
          </svg>
          <span className="visually-hidden">Menu</span>
        </button>
        <NavLink to="/portail" className="brand">
          <span className="brand-mark" aria-hidden="true">E</span>
          <span className="brand-text">ENT</span>
          <span className="visually-hidden"> — accueil</span>
        </NavLink>
        <div className="topbar-right">
          <ChatButton />
          <Bell />
          <div className="user-chip">
            <span className="user-name">{session?.name}</span>
            <span className="user-role">{ROLE_LABELS[role]}</span>
          </div>
          <button type="button" className="button button-ghost" onClick={() => logout()}>
            Déconnexion
          </button>
        </div>
      </header>
      <div className="body">
        <nav id="main-nav" className={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Navigation principale">
          <ul>
            {nav.map((m) => (
              <li key={m.path}>
                <NavLink to={m.path}>
                  {m.title}
                  {m.navBadge && <m.navBadge />}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" className="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
