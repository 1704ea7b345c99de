// A class's grades for one evaluation, typed like a spreadsheet: Tab and Shift+Tab go across,
// Enter and Shift+Enter go down and up, the arrow keys move between cells (left and right at
// the edges of the text). "abs" is absent, "disp" exempt, an empty cell not graded.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { GradeCell, Grid } from '../lib/types';
import { fmtNum } from '../lib/format';
import { TableWrap } from './ui';

export type Parsed =
  | { ok: true; status: GradeCell['status']; value: number | null }
  | { ok: false; message: string };

export function parseGrade(text: string, scale: number): Parsed {
  const t = text.trim().toLowerCase();
  if (t === '') return { ok: true, status: 'not_graded', value: null };
  if (['abs', 'absent', 'absente', 'a'].includes(t)) return { ok: true, status: 'absent', value: null };
  if (['disp', 'dispense', 'dispensé', 'dispensée', 'exempt', 'd'].includes(t)) return { ok: true, status: 'exempt', value: null };
  if (!/^\d{1,4}([.,]\d{1,2})?$/.test(t)) return { ok: false, message: `Note de 0 à ${scale}, « abs » ou « disp »` };
  const v = Number(t.replace(',', '.'));
  if (v < 0 || v > scale) return { ok: false, message: `La note doit être entre 0 et ${scale}` };
  return { ok: true, status: 'graded', value: v };
}

export function cellText(c?: GradeCell): string {
  if (!c) return '';
  if (c.status === 'absent') return 'abs';
  if (c.status === 'exempt') return 'disp';
  if (c.status === 'graded' && c.value !== null) return fmtNum(c.value);
  return '';
}

export interface GradeLine {
  student_id: string;
  status: GradeCell['status'];
  value?: number;
  comment?: string;
}

interface Props {
  grid: Grid;
  evaluationId: string;
  scale: number;
  serverErrors: Record<number, string>;
  onSave: (lines: GradeLine[]) => Promise<void>;
  saving: boolean;
}

export function GradeGrid({ grid, evaluationId, scale, serverErrors, onSave, saving }: Props) {
  const initial = useMemo(
    () =>
      grid.students.map((s) => ({
        value: cellText(s.grades[evaluationId]),
        comment: s.grades[evaluationId]?.comment ?? '',
      })),
    [grid, evaluationId],
  );
  const [rows, setRows] = useState(initial);
  useEffect(() => setRows(initial), [initial]);
  const table = useRef<HTMLTableElement>(null);

  const parsed = rows.map((r) => parseGrade(r.value, scale));
  const invalid = parsed.filter((p) => !p.ok).length;
  const dirty = rows.some((r, i) => r.value !== initial[i].value || r.comment !== initial[i].comment);

  const focusCell = (row: number, col: number) => {
    const el = table.current?.querySelector<HTMLInputElement>(`input[data-row="${row}"][data-col="${col}"]`);
    if (el) {
      el.focus();
      el.select();
    }
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>, row: number, col: number) => {
    const el = e.currentTarget;
    const atStart = el.selectionStart === 0 && el.selectionEnd === 0;
    const atEnd = el.selectionStart === el.value.length && el.selectionEnd === el.value.length;
    let target: [number, number] | null = null;
    if (e.key === 'Enter') target = [row + (e.shiftKey ? -1 : 1), col];
    else if (e.key === 'ArrowDown') target = [row + 1, col];
    else if (e.key === 'ArrowUp') target = [row - 1, col];
    else if (e.key === 'ArrowLeft' && (atStart || el.selectionStart === el.selectionEnd && el.value === '')) target = [row, col - 1];
    else if (e.key === 'ArrowRight' && (atEnd || el.value === '')) target = [row, col + 1];
    else if (e.key === 'ArrowLeft' && el.selectionStart === 0 && el.selectionEnd === el.value.length) target = [row, col - 1];
    if (!target) return;
    const [r, c] = target;
    if (r < 0 || r >= rows.length || c < 0 || c > 1) {
      if (e.key === 'Enter') e.preventDefault();
      return;
    }
    e.preventDefault();
    focusCell(r, c);
  };

  const set = (i: number, field: 'value' | 'comment', v: string) =>
    setRows((old) => old.map((r, j) => (j === i ? { ...r, [field]: v } : r)));

  const save = () => {
    if (invalid > 0) {
      const first = parsed.findIndex((p) => !p.ok);
      focusCell(first, 0);
      return;
    }
    const lines: GradeLine[] = grid.students.map((s, i) => {
      const p = parsed[i] as Extract<Parsed, { ok: true }>;
      const line: GradeLine = { student_id: s.id, status: p.status };
      if (p.status === 'graded' && p.value !== null) line.value = p.value;
      if (rows[i].comment.trim()) line.comment = rows[i].comment.trim();
      return line;
    });
    onSave(lines);
  };

  return (
    <div className="grade-grid">
      <p className="small muted" id="grid-help">
        Saisissez une note sur {scale}, « abs » (absent) ou « disp » (dispensé). Entrée ou flèches pour changer de ligne,
        Tab pour passer au commentaire.
      </p>
      <TableWrap label="Notes de la classe">
        <table className="table sheet" ref={table} aria-describedby="grid-help">
          <thead>
            <tr>
              <th scope="col">Élève</th>
              <th scope="col" className="hide-sm">Classe</th>
              <th scope="col">Note /{scale}</th>
              <th scope="col">Commentaire</th>
            </tr>
          </thead>
          <tbody>
            {grid.students.map((s, i) => {
              const p = parsed[i];
              const err = !p.ok ? p.message : serverErrors[i];
              const errId = `grade-err-${i}`;
              return (
                <tr key={s.id} className={err ? 'row-invalid' : ''}>
                  <th scope="row">{s.name}</th>
                  <td className="hide-sm">{s.class ?? '—'}</td>
                  <td className="cell">
                    <input
                      data-row={i}
                      data-col={0}
                      className="cell-input cell-grade"
                      value={rows[i]?.value ?? ''}
                      inputMode="decimal"
                      autoComplete="off"
                      aria-label={`Note de ${s.name}`}
                      aria-invalid={err ? true : undefined}
                      aria-describedby={err ? errId : undefined}
                      onChange={(e) => set(i, 'value', e.target.value)}
                      onKeyDown={(e) => onKey(e, i, 0)}
                      onFocus={(e) => e.currentTarget.select()}
                    />
                    {err && (
                      <span className="cell-error" id={errId}>
                        {err}
                      </span>
                    )}
                  </td>
                  <td className="cell">
                    <input
                      data-row={i}
                      data-col={1}
                      className="cell-input"
                      value={rows[i]?.comment ?? ''}
                      maxLength={500}
                      autoComplete="off"
                      aria-label={`Commentaire pour ${s.name}`}
                      onChange={(e) => set(i, 'comment', e.target.value)}
                      onKeyDown={(e) => onKey(e, i, 1)}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <div className="form-actions sticky-actions">
        <button type="button" className="button button-primary" onClick={save} disabled={saving}>
          {saving ? 'Enregistrement…' : 'Enregistrer les notes'}
        </button>
        <span role="status" className={invalid ? 'text-error' : 'muted'}>
          {invalid > 0
            ? `${invalid} saisie${invalid > 1 ? 's' : ''} invalide${invalid > 1 ? 's' : ''}`
            : dirty
              ? 'Modifications non enregistrées'
              : ''}
        </span>
      </div>
    </div>
  );
}
