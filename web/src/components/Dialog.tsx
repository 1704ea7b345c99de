import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A modal dialog: the browser's <dialog> opened with showModal(), which keeps the focus inside,
 * makes the rest of the page inert and closes on Escape; the focus goes back where it was when it
 * closes. It is open while it is rendered: the parent removes it in onClose. The element marked
 * data-autofocus, if any, gets the focus when it opens.
 */
export function Dialog({
  title,
  onClose,
  children,
  wide = false,
  className = '',
  actions,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  /** More classes of the <dialog> (the assistant's side panel: 'dialog-side'). */
  className?: string;
  /** Drawn in the header, before the close button. */
  actions?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const before = document.activeElement as HTMLElement | null;
    // Escape: the parent decides (it unmounts the dialog), so the browser's own close is prevented.
    const cancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    d.addEventListener('cancel', cancel);
    if (!d.open) d.showModal();
    // showModal() focuses the first focusable element (the close button); a field marked
    // data-autofocus (the first one to fill) takes the focus instead.
    d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      d.removeEventListener('cancel', cancel);
      if (d.open) d.close();
      if (before && before.isConnected) before.focus();
    };
  }, []);

  return (
    <dialog ref={ref} className={`dialog ${wide ? 'dialog-wide' : ''} ${className}`} aria-labelledby={`${id}-title`}>
      <div className="dialog-head">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions}
        <button type="button" className="icon-button" onClick={() => onCloseRef.current()}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z" />
          </svg>
          <span className="visually-hidden">Fermer</span>
        </button>
      </div>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}
