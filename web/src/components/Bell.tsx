import { useEffect, useId, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useNotifications } from '../lib/notifications';
import { relTime } from '../lib/format';

export function Bell() {
  const { available, unread, latest, markRead, markAllRead } = useNotifications();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const wrap = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const navigate = useNavigate();

  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (wrap.current && !wrap.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  if (!available) return null;
  const label = unread === 0 ? 'Notifications, aucune non lue' : `Notifications, ${unread} non lue${unread > 1 ? 's' : ''}`;
  return (
    <div className="bell" ref={wrap}>
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-label={label}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
        data-testid="bell"
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {unread > 0 && (
          <span className="badge" data-testid="bell-count" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      <span className="visually-hidden" aria-live="polite">
        {unread > 0 ? `${unread} notification${unread > 1 ? 's' : ''} non lue${unread > 1 ? 's' : ''}` : ''}
      </span>
      {open && (
        <div className="bell-panel" id={panelId} role="region" aria-label="Dernières notifications">
          <div className="bell-head">
            <strong>Notifications</strong>
            <button type="button" className="link-button" onClick={() => markAllRead()} disabled={unread === 0}>
              Tout marquer comme lu
            </button>
          </div>
          {latest.length === 0 ? (
            <p className="empty">Aucune notification.</p>
          ) : (
            <ul className="bell-list">
              {latest.map((n) => (
                <li key={n.id} className={n.read_at ? '' : 'unread'}>
                  <button
                    type="button"
                    className="bell-item"
                    onClick={async () => {
                      if (!n.read_at) await markRead(n.id).catch(() => {});
                      setOpen(false);
                      if (n.link && n.link.startsWith('/')) navigate(n.link);
                    }}
                  >
                    <span className="bell-title">
                      {!n.read_at && <span className="visually-hidden">Non lue : </span>}
                      {n.title}
                    </span>
                    <span className="bell-body">{n.body}</span>
                    <span className="bell-time">{relTime(n.created_at)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div className="bell-foot">
            <Link to="/notifications" onClick={() => setOpen(false)}>
              Voir toutes les notifications
            </Link>
          </div>
        </div>
      )}
    </div>
  );
}
