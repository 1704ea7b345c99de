// The messagerie's live state, shared by the navigation's badge, the dashboard tile and the
// /messagerie page: the inbox's unread count and a counter of the events that arrived.
//
// One stream, GET /api/messages/stream (Server-Sent Events read with fetch, lib/sse.ts), opened
// while at least one component uses the state and closed when the last one goes. The stream sends
// the inbox's unread count (`unread`) at each (re)connection and after each change (a message
// delivered, read, moved, deleted, recalled, in any tab); the page, which reads the folders
// itself, also gives its count with setInboxUnread().
import { useEffect, useSyncExternalStore } from 'react';
import { openStream } from './sse';
import type { MessageFolder } from './types';

export interface MailLiveEvent {
  /** Increases with each message or recall pushed by the server. */
  seq: number;
  kind: 'message' | 'recalled' | null;
  /** The data of the last event (message: id, thread_id, subject, sender, sent_at, ack_required). */
  data: { id?: string; subject?: string; sender?: { id: string; name: string }; ack_required?: boolean } | null;
}

interface State {
  unread: number | null;
  connected: boolean;
  event: MailLiveEvent;
}

let state: State = { unread: null, connected: false, event: { seq: 0, kind: null, data: null } };
const listeners = new Set<() => void>();
let users = 0;
let stop: (() => void) | null = null;
let closeTimer: ReturnType<typeof setTimeout> | null = null;

function set(patch: Partial<State>) {
  state = { ...state, ...patch };
  for (const l of listeners) l();
}

/** The inbox's unread count, as the page read it in GET /api/messages/folders. */
export function setInboxUnread(folders: MessageFolder[]) {
  const inbox = folders.find((f) => f.id === 'inbox');
  if (inbox && inbox.unread !== state.unread) set({ unread: inbox.unread });
}

function start() {
  if (closeTimer) {
    clearTimeout(closeTimer);
    closeTimer = null;
  }
  if (stop) return;
  stop = openStream('/api/messages/stream', {
    onState: (up) => set({ connected: up }),
    onEvent: (e) => {
      if (e.event === 'unread') {
        try {
          const n = JSON.parse(e.data).count;
          if (typeof n === 'number' && n !== state.unread) set({ unread: n });
        } catch {
          /* the badge stays as it was */
        }
      } else if (e.event === 'message' || e.event === 'recalled') {
        let data: MailLiveEvent['data'] = null;
        try {
          data = JSON.parse(e.data);
        } catch {
          /* kept without its data */
        }
        set({ event: { seq: state.event.seq + 1, kind: e.event, data } });
      }
    },
  });
}

function release() {
  // A short delay: a page change unmounts and mounts users at once; the stream stays open.
  if (closeTimer) clearTimeout(closeTimer);
  closeTimer = setTimeout(() => {
    closeTimer = null;
    if (users === 0 && stop) {
      stop();
      stop = null;
      state = { unread: null, connected: false, event: state.event };
    }
  }, 1000);
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The live state; `enabled` false (no messagerie service on this server) opens nothing. */
export function useMailLive(enabled: boolean): State {
  useEffect(() => {
    if (!enabled) return;
    users++;
    start();
    return () => {
      users--;
      if (users === 0) release();
    };
  }, [enabled]);
  return useSyncExternalStore(subscribe, () => state);
}
