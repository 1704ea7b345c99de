import { useEffect, useRef, type ReactNode } from 'react';
import { ApiError } from '../lib/api';
import { problemText } from '../lib/i18n';

export function Spinner({ label = 'Chargement…' }: { label?: string }) {
  return (
    <div className="spinner" role="status">
      <span className="spinner-dot" aria-hidden="true" />
      {label}
    </div>
  );
}

export function errorText(e: unknown): string {
  // French from the problem's codes (lib/i18n.ts), the server's detail when a code is unknown.
  if (e instanceof ApiError) return problemText(e.problem, e.message);
  return otherErrorText(e);
}

/**
 * A failure that is not the server's answer, in French: the browser's own words ("Failed to
 * fetch", "NetworkError when attempting to fetch resource.") are never shown.
 */
export function otherErrorText(e: unknown): string {
  if (e instanceof DOMException && e.name === 'AbortError') return e.message || 'Opération annulée.';
  if (e instanceof TypeError) return 'Le serveur est injoignable : vérifiez votre connexion, puis réessayez.';
  return 'Une erreur inattendue est survenue : rechargez la page, puis réessayez.';
}

export function Alert({ kind = 'error', children }: { kind?: 'error' | 'success' | 'info'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function PageTitle({ title, children }: { title: string; children?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} — ENT`;
  }, [title]);
  return (
    <div className="page-head">
      <h1 ref={ref} tabIndex={-1} id="page-title">
        {title}
      </h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

export function Card({ title, children, actions, className = '' }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className}`}>
      {(title || actions) && (
        <div className="card-head">
          {title && <h2>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A table that may scroll sideways on a phone: focusable so that keyboard users can scroll it. */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
