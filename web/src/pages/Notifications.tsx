import { useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { useApi, type List } from '../lib/api';
import { useNotifications, type Notification } from '../lib/notifications';
import { fmtDateTime } from '../lib/format';
import { count } from '../lib/i18n';
import { Alert, Card, Empty, PageTitle, Spinner, errorText } from '../components/ui';

export function NotificationsPage() {
  const { unread, latest, markRead, markAllRead, remove } = useNotifications();
  const [items, setItems] = useState<Notification[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [onlyUnread, setOnlyUnread] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();
  const { api } = useApi();

  const load = useCallback(
    async (cursor?: string) => {
      try {
        const p = new URLSearchParams({ limit: '30' });
        if (onlyUnread) p.set('unread', 'true');
        if (cursor) p.set('cursor', cursor);
        const r = await api<List<Notification>>(`/api/notifications?${p}`);
        setItems((old) => (cursor && old ? [...old, ...r.items] : r.items));
        setNext(r.next_cursor ?? null);
      } catch (e) {
        setError(errorText(e));
        setItems([]);
      }
    },
    [onlyUnread, api],
  );
  // Reload when a new notification arrives on the stream.
  useEffect(() => {
    load();
  }, [load, latest[0]?.id]);

  const act = (fn: () => Promise<void>) => fn().then(() => load()).catch((e) => setError(errorText(e)));

  return (
    <>
      <PageTitle title="Notifications">
        <button type="button" className="button" onClick={() => act(markAllRead)} disabled={unread === 0}>
          Tout marquer comme lu
        </button>
      </PageTitle>
      <label className="check">
        <input type="checkbox" checked={onlyUnread} onChange={(e) => setOnlyUnread(e.target.checked)} />
        Non lues seulement ({unread})
      </label>
      {error && <Alert>{error}</Alert>}
      <Card>
        {items === null ? (
          <Spinner />
        ) : items.length === 0 ? (
          <Empty>Aucune notification.</Empty>
        ) : (
          <ul className="list">
            {items.map((n) => (
              <li key={n.id} className={`list-row notif-row ${n.read_at ? '' : 'unread'}`}>
                <span>
                  <strong>{!n.read_at && <span className="dot" aria-label="Non lue" role="img" />}{n.title}</strong>
                  <br />
                  {n.body}
                  <br />
                  <span className="muted small">{fmtDateTime(n.created_at)}</span>
                </span>
                <span className="row-actions notif-actions">
                  {n.link && n.link.startsWith('/') && (
                    <button type="button" className="button button-small" onClick={() => { if (!n.read_at) markRead(n.id).catch(() => {}); navigate(n.link!); }}>
                      Ouvrir<span className="visually-hidden"> {n.title}</span>
                    </button>
                  )}
                  {!n.read_at && (
                    <button type="button" className="button button-small" onClick={() => act(() => markRead(n.id))}>
                      Marquer comme lue<span className="visually-hidden"> : {n.title}</span>
                    </button>
                  )}
                  <button type="button" className="button button-small button-danger" onClick={() => act(() => remove(n.id))}>
                    Supprimer<span className="visually-hidden"> {n.title}</span>
                  </button>
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {next && <button type="button" className="button" onClick={() => load(next)}>Afficher plus</button>}
    </>
  );
}

/** The notifications tile's badge on the dashboard: how many are unread. */
export function UnreadBadge() {
  const { unread } = useNotifications();
  return unread > 0 ? <span className="tile-badge">{count(unread, 'non lue', 'non lues')}</span> : null;
}
