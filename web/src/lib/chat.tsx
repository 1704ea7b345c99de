// The assistant's conversation (GlobalChat), shared by the side panel (components/ChatPanel.tsx)
// and the /chat page (pages/Chat.tsx): one conversation at a time, kept while the user moves
// between pages, so an answer that is still streaming goes on when the panel closes.
//
// A question goes to POST /chatbot/ask/stream (docs/chatbot.md): the server refuses before the
// stream opens (400, 404, 429 with Retry-After, as problems), or answers text/event-stream:
// `sources`, then `token` events whose texts add up to the answer, then `done` with the
// interaction's id. The stream is read with fetch (EventSource cannot send the token) and parsed
// by lib/sse.ts's SseParser.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, apiFetch, ApiError, messageForStatus, type Problem } from './api';
import { useAuth } from './AuthContext';
import { SseParser } from './sse';
import type { ChatAsk, ChatInteraction, ChatSource, ChatSuggestion } from './types';

export type { ChatSource, ChatSuggestion };

/** One question of the conversation and its answer, as it arrives. */
export interface ChatTurn {
  /** A key for React, known before the server gives the interaction's id. */
  key: string;
  /** The interaction's id (feedback goes there): null until `done`. */
  id: string | null;
  question: string;
  answer: string;
  sources: ChatSource[];
  /** thinking: asked, nothing received yet; streaming: tokens arriving; done; error (see `error`). */
  state: 'thinking' | 'streaming' | 'done' | 'error';
  /** false: the assistant does not know (`suggestions` says where to look instead). */
  answered: boolean;
  suggestions: ChatSuggestion[];
  error: string | null;
  feedback: 'up' | 'down' | null;
  comment: string | null;
}

interface ChatValue {
  /** The server runs the assistant and someone is logged in. */
  available: boolean;
  conversationId: string | null;
  turns: ChatTurn[];
  /** A question is being answered: a new one waits. */
  busy: boolean;
  /** Grows each time the history changes (an answer recorded, feedback, deletion): lists reload. */
  historyVersion: number;
  ask: (question: string) => Promise<void>;
  /** Forgets the current conversation (the history keeps it): the next question starts a new one. */
  newConversation: () => void;
  /** Makes a conversation of the history the current one, to read it and ask follow-up questions. */
  openConversation: (id: string) => Promise<void>;
  /** Thumbs up or down on an answer (once it has its id), with an optional comment. */
  feedback: (turn: ChatTurn, rating: 'up' | 'down', comment: string | null) => Promise<void>;
  /** Deletes all the user's history (DELETE /chatbot/history) and the current conversation. */
  deleteHistory: () => Promise<void>;
}

const Ctx = createContext<ChatValue | null>(null);

/** "3 min 20 s", "45 s", "1 h 5 min": a wait in seconds as people say it. */
export function fmtWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = s % 60;
    return r ? `${m} min ${r} s` : `${m} min`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** The French message of a refused question; a 429 says how long to wait (Retry-After). */
async function refusal(r: Response): Promise<string> {
  let p: Problem = { status: r.status };
  try {
    if ((r.headers.get('Content-Type') || '').includes('json')) p = { ...(await r.json()), status: r.status };
  } catch {
    /* not JSON */
  }
  if (r.status === 429) {
    const wait = Number(r.headers.get('Retry-After'));
    return Number.isFinite(wait) && wait > 0
      ? `Vous avez posé beaucoup de questions en peu de temps. Vous pourrez en poser une nouvelle dans ${fmtWait(wait)}.`
      : 'Vous avez posé beaucoup de questions en peu de temps. Réessayez dans quelques minutes.';
  }
  return new ApiError({ ...p, detail: p.detail || messageForStatus(r.status) }).message;
}

function fromHistory(i: ChatInteraction): ChatTurn {
  return {
    key: i.id,
    id: i.id,
    question: i.question,
    answer: i.answer,
    sources: i.sources,
    state: 'done',
    answered: i.answered,
    // The history does not keep the suggestions: the assistant always makes the same ones.
    suggestions: i.answered ? [] : DEFAULT_SUGGESTIONS,
    error: null,
    feedback: i.feedback,
    comment: i.comment,
  };
}

const DEFAULT_SUGGESTIONS: ChatSuggestion[] = [
  { label: 'Consulter la FAQ', link: '/support/faq' },
  { label: "Ouvrir un ticket d'assistance", link: '/support/nouvelle' },
];

let keys = 0;

export function ChatProvider({ children }: { children: ReactNode }) {
  const { session, hasService } = useAuth();
  const available = !!session && hasService('chatbot');
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [turns, setTurns] = useState<ChatTurn[]>([]);
  const [busy, setBusy] = useState(false);
  const [historyVersion, setHistoryVersion] = useState(0);
  const controller = useRef<AbortController | null>(null);
  const conversationRef = useRef<string | null>(null);
  conversationRef.current = conversationId;

  // Another user (or a logout): nothing of the previous one's conversation stays.
  useEffect(() => {
    controller.current?.abort();
    setConversationId(null);
    setTurns([]);
    setBusy(false);
  }, [session?.id]);

  const update = (key: string, change: (t: ChatTurn) => Partial<ChatTurn>) =>
    setTurns((old) => old.map((t) => (t.key === key ? { ...t, ...change(t) } : t)));

  const ask = useCallback(async (question: string) => {
    const key = `q${++keys}`;
    setTurns((old) => [
      ...old,
      { key, id: null, question, answer: '', sources: [], state: 'thinking', answered: true, suggestions: [], error: null, feedback: null, comment: null },
    ]);
    setBusy(true);
    const ctl = new AbortController();
    controller.current = ctl;
    const body: ChatAsk = { question };
    if (conversationRef.current) body.conversation_id = conversationRef.current;
    try {
      const r = await apiFetch('/chatbot/ask/stream', {
        method: 'POST',
        headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: ctl.signal,
        cache: 'no-store',
      });
      if (!r.ok || !r.body) {
        const error = await refusal(r);
        update(key, () => ({ state: 'error', error }));
        return;
      }
      const parser = new SseParser();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let done = false;
      while (!done) {
        const chunk = await reader.read();
        if (chunk.done) break;
        for (const e of parser.push(chunk.value)) {
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(e.data);
          } catch {
            continue;
          }
          if (e.event === 'sources') {
            if (typeof data.conversation_id === 'string') setConversationId(data.conversation_id);
            update(key, () => ({ sources: (data.sources as ChatSource[]) ?? [] }));
          } else if (e.event === 'token') {
            const text = typeof data.text === 'string' ? data.text : '';
            update(key, (t) => ({ state: 'streaming', answer: t.answer + text }));
          } else if (e.event === 'done') {
            done = true;
            update(key, () => ({
              state: 'done',
              id: typeof data.interaction_id === 'string' ? data.interaction_id : null,
              answered: data.answered !== false,
              suggestions: data.answered === false ? localSuggestions(data.suggestions) : [],
            }));
            setHistoryVersion((v) => v + 1);
          }
        }
      }
      if (!done) update(key, () => ({ state: 'error', error: "La réponse a été interrompue. Posez la question à nouveau." }));
    } catch (e) {
      if (ctl.signal.aborted) return;
      update(key, () => ({ state: 'error', error: e instanceof ApiError ? e.message : 'Le serveur est injoignable. Vérifiez votre connexion.' }));
    } finally {
      if (controller.current === ctl) {
        controller.current = null;
        setBusy(false);
      }
    }
  }, []);

  const newConversation = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    setBusy(false);
    setConversationId(null);
    setTurns([]);
  }, []);

  const openConversation = useCallback(async (id: string) => {
    const r = await api<{ items: ChatInteraction[] }>(`/chatbot/history?conversation_id=${encodeURIComponent(id)}&limit=100`);
    controller.current?.abort();
    controller.current = null;
    setBusy(false);
    setConversationId(id);
    setTurns(r.items.slice().reverse().map(fromHistory));
  }, []);

  const feedback = useCallback(async (turn: ChatTurn, rating: 'up' | 'down', comment: string | null) => {
    if (!turn.id) return;
    await api(`/chatbot/interactions/${encodeURIComponent(turn.id)}/feedback`, { method: 'PUT', json: comment ? { rating, comment } : { rating } });
    update(turn.key, () => ({ feedback: rating, comment }));
    setHistoryVersion((v) => v + 1);
  }, []);

  const deleteHistory = useCallback(async () => {
    await api('/chatbot/history', { method: 'DELETE' });
    newConversation();
    setHistoryVersion((v) => v + 1);
  }, [newConversation]);

  const value = useMemo(
    () => ({ available, conversationId, turns, busy, historyVersion, ask, newConversation, openConversation, feedback, deleteHistory }),
    [available, conversationId, turns, busy, historyVersion, ask, newConversation, openConversation, feedback, deleteHistory],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** The server's suggestions, kept when they are links inside the portal. */
function localSuggestions(v: unknown): ChatSuggestion[] {
  if (!Array.isArray(v)) return DEFAULT_SUGGESTIONS;
  const out = v.filter(
    (s): s is ChatSuggestion => !!s && typeof s.label === 'string' && typeof s.link === 'string' && s.link.startsWith('/') && !s.link.startsWith('//'),
  );
  return out.length ? out : DEFAULT_SUGGESTIONS;
}

export function useChat(): ChatValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useChat outside ChatProvider');
  return v;
}
