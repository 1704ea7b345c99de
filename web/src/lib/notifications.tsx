// The unread count and the latest notifications, kept current by the SSE stream.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, type List } from './api';
import { openStream } from './sse';
import { useAuth } from './AuthContext';

export interface Notification {
  id: string;
  type: string;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown> | null;
  created_at: string;
  read_at: string | null;
}

interface NotificationsValue {
  available: boolean;
  connected: boolean;
  unread: number;
  latest: Notification[];
  refresh: () => Promise<void>;
  markRead: (id: string) => Promise<void>;
  markAllRead: () => Promise<void>;
  remove: (id: string) => Promise<void>;
}

const Ctx = createContext<NotificationsValue | null>(null);

export function NotificationsProvider({ children }: { children: ReactNode }) {
  const { session, hasService } = useAuth();
  const available = !!session && hasService('notifications');
  const [unread, setUnread] = useState(0);
  const [latest, setLatest] = useState<Notification[]>([]);
  const [connected, setConnected] = useState(false);

  const refresh = useCallback(async () => {
    if (!available) return;
    const [count, list] = await Promise.all([
      api<{ count: number }>('/api/notifications/unread-count'),
      api<List<Notification>>('/api/notifications?limit=10'),
    ]);
    setUnread(count.count);
    setLatest(list.items);
  }, [available]);

  useEffect(() => {
    if (!available) return;
    let first = true;
    const stop = openStream('/api/notifications/stream', {
      // Each (re)connection reloads the list: events sent while disconnected are not replayed.
      onState: (up) => {
        setConnected(up);
        if (up) refresh().catch(() => {});
        else if (first) refresh().catch(() => {});
        first = false;
      },
      onEvent: (e) => {
        try {
          if (e.event === 'unread') {
            setUnread((JSON.parse(e.data) as { count: number }).count);
          } else if (e.event === 'notification') {
            const n = JSON.parse(e.data) as Notification;
            setLatest((old) => [n, ...old.filter((o) => o.id !== n.id)].slice(0, 10));
          }
        } catch {
          /* a malformed event is skipped */
        }
      },
    });
    return stop;
    // Reconnect only when the user changes, not on every token refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [available, session?.id]);

  const markRead = useCallback(async (id: string) => {
    const n = await api<Notification>(`/api/notifications/${encodeURIComponent(id)}/read`, { method: 'POST' });
    setLatest((old) => old.map((o) => (o.id === id ? n : o)));
  }, []);
  const markAllRead = useCallback(async () => {
    await api('/api/notifications/read-all', { method: 'POST' });
    const now = new Date().toISOString();
    setLatest((old) => old.map((o) => (o.read_at ? o : { ...o, read_at: now })));
    setUnread(0);
  }, []);
  const remove = useCallback(async (id: string) => {
    await api(`/api/notifications/${encodeURIComponent(id)}`, { method: 'DELETE' });
    setLatest((old) => old.filter((o) => o.id !== id));
  }, []);

  const value = useMemo(
    () => ({ available, connected, unread, latest, refresh, markRead, markAllRead, remove }),
    [available, connected, unread, latest, refresh, markRead, markAllRead, remove],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useNotifications(): NotificationsValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useNotifications outside NotificationsProvider');
  return v;
}
