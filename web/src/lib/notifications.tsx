// The unread count and the latest notifications, kept current by the SSE stream.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, type List } from './api';
import { openStream } from './sse';
import { useAuth } from './AuthContext';
import type { Notification, UnreadCount } from './types';

export type { Notification };


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

  const loadLatest = useCallback(async () => {
    if (!available) return;
    setLatest((await api<List<Notification>>('/api/notifications?limit=10')).items);
  }, [available]);
  const refresh = useCallback(async () => {
    if (!available) return;
    const [count] = await Promise.all([api<UnreadCount>('/api/notifications/unread-count'), loadLatest()]);
    setUnread(count.count);
  }, [available, loadLatest]);

  useEffect(() => {
    if (!available) return;
    let first = true;
    const stop = openStream('/api/notifications/stream', {
      // Each (re)connection reloads the list; the unread count needs no request then: the stream
      // sends it (`unread`) as soon as it opens. Without a stream, both are read once.
      onState: (up) => {
        setConnected(up);
        if (up) loadLatest().catch(() => {});
        else if (first) refresh().catch(() => {});
        first = false;
      },
      onEvent: (e) => {
        try {
          if (e.event === 'unread') {
            setUnread((JSON.parse(e.data) as UnreadCount).count);
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
