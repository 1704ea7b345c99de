// Server-Sent Events over fetch(): EventSource cannot send the Authorization header, so the
// stream is read with a ReadableStream reader and parsed here (WHATWG event-stream format).
// Reconnects with exponential backoff and jitter, sending Last-Event-ID.
import { accessToken } from './auth';
import { reportUnauthorized } from './api';

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export interface SseOptions {
  onEvent: (e: SseEvent) => void;
  onState?: (connected: boolean) => void;
}

/** Parses event-stream text; returns the events complete so far and keeps the rest. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  lastId: string | null = null;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const len = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + len);
      if (line === '') {
        if (this.data.length) {
          if (this.id !== null) this.lastId = this.id;
          out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
        }
        this.data = [];
        this.event = '';
        this.id = null;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.id = value;
    }
    return out;
  }
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openStream(url: string, opts: SseOptions): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;
  let lastId: string | null = null;

  const schedule = () => {
    if (stopped) return;
    const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    attempt++;
    timer = setTimeout(connect, delay);
  };

  const connect = async () => {
    if (stopped) return;
    controller = new AbortController();
    try {
      const token = await accessToken();
      if (!token) {
        schedule();
        return;
      }
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const r = await fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
      if (!r.ok || !r.body) {
        opts.onState?.(false);
        if (r.status === 404 || r.status === 403) return; // no such service here: do not insist
        if (r.status === 401) {
          await reportUnauthorized(r); // the session is over: the login page, not a retry
          return;
        }
        schedule();
        return;
      }
      attempt = 0;
      opts.onState?.(true);
      const parser = new SseParser();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const e of parser.push(value)) opts.onEvent(e);
        if (parser.lastId) lastId = parser.lastId;
      }
      opts.onState?.(false);
      schedule();
    } catch {
      opts.onState?.(false);
      if (!stopped) schedule();
    }
  };

  connect();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    controller?.abort();
  };
}
