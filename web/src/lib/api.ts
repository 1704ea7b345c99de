// fetch() with the bearer token and problem+json errors turned into ApiError.
//
// Pages and their components call the API through useApi(): its requests are cancelled when the
// component unmounts (an AbortController per component), and the promise of a cancelled request
// never settles, so no then, catch or finally of a page that has gone away runs: no error
// message, no state update. The functions themselves (api, listAll, download, upload) take an
// optional signal and reject with an AbortError (isAbortError) when it aborts.
import { useEffect, useMemo, useRef } from 'react';
import { accessToken } from './auth';

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  /** Stable machine code of the problem ("email_taken", "not_found" …): lib/i18n.ts has its French text. */
  code?: string;
  errors?: Record<string, string>;
  /** field -> stable code of that field's error, beside errors (field -> the server's message). */
  codes?: Record<string, string>;
}

export class ApiError extends Error {
  status: number;
  problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title || `Erreur ${problem.status}`);
    this.status = problem.status;
    this.problem = problem;
  }
}

/**
 * Called when the API refuses the caller's token (401: it expired, was revoked, or the account
 * was closed), with the problem's code ("unauthenticated"). The portal then ends the session and
 * shows its login page with a French message (lib/AuthContext.tsx).
 */
let onUnauthorized: ((code: string | undefined) => void) | null = null;
export function setUnauthorizedHandler(fn: (code: string | undefined) => void) {
  onUnauthorized = fn;
}

/** Reports a 401 answer r to the handler above, with its problem's code when it has one. */
export async function reportUnauthorized(r: Response): Promise<void> {
  if (r.status !== 401 || !onUnauthorized) return;
  let code: string | undefined;
  try {
    if ((r.headers.get('Content-Type') || '').includes('json')) code = ((await r.clone().json()) as Problem).code;
  } catch {
    /* no body: a 401 all the same */
  }
  onUnauthorized(code);
}

export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await accessToken();
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  const r = await fetch(path, { ...init, headers });
  if (r.status === 401) await reportUnauthorized(r);
  return r;
}

export async function problemOf(r: Response): Promise<ApiError> {
  let p: Problem = { status: r.status };
  try {
    const ct = r.headers.get('Content-Type') || '';
    if (ct.includes('json')) p = { ...(await r.json()), status: r.status };
  } catch {
    /* not JSON */
  }
  if (!p.detail) p.detail = messageForStatus(r.status);
  return new ApiError(p);
}

export function messageForStatus(status: number): string {
  switch (status) {
    case 401: return 'Votre session a expiré ou a été fermée : reconnectez-vous.';
    case 403: return "Vous n'avez pas accès à cette ressource.";
    case 404: return 'Ressource introuvable.';
    case 409: return 'Conflit : la ressource a changé ou existe déjà.';
    case 413: return 'Fichier ou contenu trop volumineux.';
    case 429: return 'Trop de requêtes : réessayez dans un instant.';
    default: return status >= 500 ? 'Le serveur a rencontré une erreur. Réessayez plus tard.' : `Erreur ${status}`;
  }
}

export async function api<T = unknown>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  if (json !== undefined) {
    rest.body = JSON.stringify(json);
    rest.headers = { ...(rest.headers as Record<string, string>), 'Content-Type': 'application/json' };
  }
  const r = await apiFetch(path, rest);
  if (!r.ok) throw await problemOf(r);
  if (r.status === 204) return undefined as T;
  const ct = r.headers.get('Content-Type') || '';
  return (ct.includes('json') ? await r.json() : await r.text()) as T;
}

/** Downloads a protected file: fetched with the token, then saved under its name. */
export async function download(path: string, filename: string, signal?: AbortSignal): Promise<void> {
  const r = await apiFetch(path, { headers: { Accept: '*/*' }, signal });
  if (!r.ok) throw await problemOf(r);
  const blob = await r.blob();
  saveBlob(blob, filenameOf(r.headers.get('Content-Disposition')) || filename);
}

/** The file name of a Content-Disposition header (RFC 6266: filename* wins over filename). */
export function filenameOf(cd: string | null): string | null {
  if (!cd) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall back to filename */
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(cd);
  if (plain) return (plain[1] ?? plain[2]).replace(/\\(.)/g, '$1').trim();
  return null;
}

export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Uploads a file with progress (XMLHttpRequest: fetch has no upload progress). */
export async function upload<T>(path: string, file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
  const token = await accessToken();
  if (signal?.aborted) throw new DOMException('Envoi annulé.', 'AbortError');
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.onabort = () => reject(new DOMException('Envoi annulé.', 'AbortError'));
    xhr.open('POST', path);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* empty */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as T);
      } else {
        const p = (body as Problem) || { status: xhr.status };
        if (xhr.status === 401) onUnauthorized?.(p.code);
        reject(new ApiError({ ...p, status: xhr.status, detail: p.detail || messageForStatus(xhr.status) }));
      }
    };
    xhr.onerror = () => reject(new ApiError({ status: 0, detail: 'Le serveur est injoignable.' }));
    xhr.send(file);
  });
}

export interface List<T> {
  items: T[];
  next_cursor?: string | null;
}

/** Follows cursors until `max` items (lists are paginated). */
export async function listAll<T>(path: string, max = 500, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page: List<T> = await api<List<T>>(
      `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { signal },
    );
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** True for the rejection of a request whose signal aborted. */
export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

/** p, unless signal aborts first: then a promise that never settles (see the top of this file). */
function unlessAborted<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    p.then(
      (v) => {
        if (!signal.aborted) resolve(v);
      },
      (e) => {
        if (!signal.aborted) reject(e);
      },
    );
  });
}

/** The API functions of one component: each request is cancelled when the component unmounts. */
export interface ComponentApi {
  api: typeof api;
  apiFetch: typeof apiFetch;
  listAll: <T>(path: string, max?: number) => Promise<T[]>;
  download: (path: string, filename: string) => Promise<void>;
  upload: <T>(path: string, file: File, onProgress: (fraction: number) => void) => Promise<T>;
}

/**
 * The API for a page or one of its components: `const { api } = useApi();` at the top of each
 * component that makes requests (a component does not pass its own to a child: the child calls
 * useApi() too). A request still running when the component unmounts is cancelled, and its
 * promise never settles.
 */
export function useApi(): ComponentApi {
  const ref = useRef<AbortController | null>(null);
  useEffect(() => {
    // A fresh controller when React mounts the component again (StrictMode in development).
    if (!ref.current || ref.current.signal.aborted) ref.current = new AbortController();
    const controller = ref.current;
    return () => controller.abort();
  }, []);
  return useMemo(() => {
    // Created on the first request when it comes before the effect above has run.
    const signal = () => (ref.current ??= new AbortController()).signal;
    return {
      api: <T,>(path: string, init: RequestInit & { json?: unknown } = {}) => {
        const s = signal();
        return unlessAborted(s, api<T>(path, { ...init, signal: s }));
      },
      apiFetch: (path: string, init: RequestInit = {}) => {
        const s = signal();
        return unlessAborted(s, apiFetch(path, { ...init, signal: s }));
      },
      listAll: <T,>(path: string, max?: number) => {
        const s = signal();
        return unlessAborted(s, listAll<T>(path, max, s));
      },
      download: (path: string, filename: string) => {
        const s = signal();
        return unlessAborted(s, download(path, filename, s));
      },
      upload: <T,>(path: string, file: File, onProgress: (fraction: number) => void) => {
        const s = signal();
        return unlessAborted(s, upload<T>(path, file, onProgress, s));
      },
    };
  }, []);
}
