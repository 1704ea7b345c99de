// A list of recipients with suggestions from GET /api/messages/recipients?q=: the server proposes
// what the caller may write to (groups, and people from two characters); its rules decide.
// An ARIA 1.2 combobox: the arrows move in the suggestions, Enter adds one, Escape closes them,
// Backspace in the empty field removes the last recipient; each chosen one has its "Retirer" button.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useApi } from '../lib/api';
import { ROLE_LABELS } from '../lib/format';
import type { Recipient } from '../lib/types';

export interface Chosen {
  type: Recipient['type'];
  id?: string;
  name: string;
}


export const sameAddress = (a: Chosen, b: Chosen) => a.type === b.type && (a.id ?? '') === (b.id ?? '');

function kindOf(r: Recipient): string {
  if (r.type === 'user') return r.role ? ROLE_LABELS[r.role] ?? '' : '';
  return 'Groupe';
}

export function RecipientField({
  label,
  value,
  onChange,
  invalid,
  autoFocus = false,
}: {
  label: string;
  value: Chosen[];
  onChange: (v: Chosen[]) => void;
  invalid?: boolean;
  autoFocus?: boolean;
}) {
  const { api } = useApi();
  const id = useId();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Recipient[]>([]);
  const [active, setActive] = useState(-1);
  const [loading, setLoading] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const seq = useRef(0);

  useEffect(() => {
    if (!open) return;
    const n = ++seq.current;
    setLoading(true);
    const t = setTimeout(() => {
      api<{ items: Recipient[] }>(`/api/messages/recipients?q=${encodeURIComponent(q.trim())}`)
        .then((r) => {
          if (n !== seq.current) return;
          setItems(r.items);
          setActive(-1);
        })
        .catch(() => n === seq.current && setItems([]))
        .finally(() => n === seq.current && setLoading(false));
    }, 200);
    return () => clearTimeout(t);
  }, [q, open, api]);

  const shown = items.filter((r) => !value.some((v) => sameAddress(v, r)));

  const pick = (r: Recipient) => {
    onChange([...value, { type: r.type, id: r.id, name: r.name }]);
    setQ('');
    setActive(-1);
    input.current?.focus();
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(shown.length - 1, a + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && shown[active]) {
        e.preventDefault();
        pick(shown[active]);
      } else if (open && shown.length === 1 && q.trim()) {
        e.preventDefault();
        pick(shown[0]);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        // Closes the suggestions, not the dialog around.
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      }
    } else if (e.key === 'Backspace' && !q && value.length) {
      onChange(value.slice(0, -1));
    }
  };

  const listId = `${id}-list`;
  return (
    <div className="field recipients">
      <label htmlFor={`${id}-input`}>{label}</label>
      <div className={`recipient-box ${invalid ? 'invalid' : ''}`}>
        {value.length > 0 && (
          <ul className="chips" aria-label={`${label} : destinataires choisis`}>
            {value.map((v) => (
              <li key={`${v.type}:${v.id ?? ''}`} className="chip">
                <span>{v.name}</span>
                <button type="button" className="chip-remove" onClick={() => onChange(value.filter((x) => !sameAddress(x, v)))}>
                  <span aria-hidden="true">×</span>
                  <span className="visually-hidden">Retirer {v.name}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <input
          ref={input}
          id={`${id}-input`}
          type="text"
          role="combobox"
          autoComplete="off"
          data-autofocus={autoFocus || undefined}
          aria-expanded={open && shown.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={open && active >= 0 && shown[active] ? `${id}-opt-${active}` : undefined}
          aria-invalid={invalid || undefined}
          aria-describedby={`${id}-hint`}
          value={q}
          placeholder="Nom, classe…"
          onChange={(e) => {
            setQ(e.target.value);
            setOpen(true);
          }}
          onFocus={() => setOpen(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onKeyDown={onKey}
        />
      </div>
      <span id={`${id}-hint`} className="visually-hidden">
        Tapez au moins deux lettres pour chercher une personne ; flèches pour parcourir les suggestions, Entrée pour ajouter.
      </span>
      <ul id={listId} role="listbox" aria-label={`Suggestions : ${label}`} className="suggestions" hidden={!open || shown.length === 0}>
        {shown.map((r, i) => (
          <li
            key={`${r.type}:${r.id ?? ''}`}
            id={`${id}-opt-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : ''}
            onMouseDown={(e) => {
              e.preventDefault();
              pick(r);
            }}
          >
            <span>{r.name}</span>
            {kindOf(r) && <span className="muted small">{kindOf(r)}</span>}
          </li>
        ))}
      </ul>
      {open && !loading && q.trim().length >= 2 && shown.length === 0 && (
        <span className="muted small" role="status">
          Aucun destinataire autorisé ne correspond à « {q.trim()} ».
        </span>
      )}
    </div>
  );
}
