import { Fragment, useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { ApiError, useApi, type List } from '../lib/api';
import { fmtDate, fmtNum } from '../lib/format';
import { fieldText } from '../lib/i18n';
import type { Cours, Evaluation, Grid, Period, StudentEvaluation, StudentReport, Ticket } from '../lib/types';
import { Alert, Card, Empty, PageTitle, Spinner, TableWrap, errorText } from '../components/ui';
import { AverageChart } from '../components/AverageChart';
import { GradeGrid, type GradeLine } from '../components/GradeGrid';

export function NotesPage() {
  const { hasRole } = useAuth();
  return hasRole('enseignant', 'admin') ? <TeacherNotes /> : <StudentNotes />;
}

function evalText(e: StudentEvaluation): string {
  if (e.status === 'absent') return 'Absent';
  if (e.status === 'exempt') return 'Dispensé';
  if (e.status === 'not_graded' || e.value === null) return 'Non noté';
  // The grade on its own scale, and on /20 (what averages count) when the scale is another.
  return e.scale === 20 ? `${fmtNum(e.value)}/20` : `${fmtNum(e.value)}/${e.scale} (${fmtNum(e.value20)}/20)`;
}

/** A class figure of an evaluation (the server gives them on /20) on the evaluation's own scale. */
function onScale(v20: number | null | undefined, scale: number): string {
  return v20 === null || v20 === undefined ? '—' : `${fmtNum(Math.round(((v20 * scale) / 20) * 100) / 100)}/${scale}`;
}

/** "moy. 8,5/10 · min 7/10 · max 10/10": the class figures of an evaluation, each with its scale. */
function classFigures(e: StudentEvaluation): string {
  return `moy. ${onScale(e.class_average, e.scale)} · min ${onScale(e.min, e.scale)} · max ${onScale(e.max, e.scale)}`;
}

/** "Trimestre 1 — 2026-2027": a period with its school year, as every period menu shows it. */
export function periodLabel(p: Period): string {
  return `${p.name} — ${p.school_year}${p.closed ? ' (close)' : ''}`;
}

/** The school year of today ("2026-2027" from August on). */
export function currentSchoolYear(d = new Date()): string {
  const y = d.getFullYear();
  return d.getMonth() >= 7 ? `${y}-${y + 1}` : `${y - 1}-${y}`;
}

/** A period menu's options, grouped by school year (newest first). */
function PeriodOptions({ periods }: { periods: Period[] }) {
  const years = [...new Set(periods.map((p) => p.school_year))].sort().reverse();
  return (
    <>
      {years.map((y) => (
        <optgroup key={y} label={`Année ${y}`}>
          {periods.filter((p) => p.school_year === y).map((p) => (
            <option key={p.id} value={p.id}>{periodLabel(p)}</option>
          ))}
        </optgroup>
      ))}
    </>
  );
}

/**
 * "Demander une révision" of one grade: the reason, then the contestation's ticket page (the support
 * service assigns it to the evaluation's teacher). docs/support.md.
 */
function ContestForm({ e, onCancel, onConflict }: { e: StudentEvaluation; onCancel: () => void; onConflict: () => void }) {
  const { api } = useApi();
  const navigate = useNavigate();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!reason.trim()) {
      setError('Expliquez en quelques mots pourquoi vous demandez une révision.');
      return;
    }
    setBusy(true);
    try {
      const t = await api<Ticket>('/api/support/contestations', { method: 'POST', json: { evaluation_id: e.id, reason: reason.trim() } });
      navigate(`/support/demandes/${t.id}`, { state: { created: true } });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
      if (err instanceof ApiError && err.status === 409) onConflict();
    }
  };
  return (
    <form className="form contest-form" onSubmit={submit} noValidate>
      {error && <Alert>{error}</Alert>}
      <div className="field">
        <label htmlFor={`contest-${e.id}`}>Pourquoi demandez-vous une révision de « {e.title} » ({evalText(e)}) ?</label>
        <textarea id={`contest-${e.id}`} rows={3} maxLength={10000} value={reason} onChange={(x) => setReason(x.target.value)} autoFocus />
        <span className="muted small">Votre demande est transmise à votre professeur, qui vous répondra dans « Assistance ».</span>
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-primary button-small" disabled={busy}>
          Envoyer la demande
        </button>
        <button type="button" className="button button-small" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}

function StudentNotes() {
  const { api } = useApi();
  const { hasService } = useAuth();
  const [report, setReport] = useState<StudentReport | null>(null);
  const [periodId, setPeriodId] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  // The student's contestations not closed yet, by evaluation: one at a time per grade.
  const support = hasService('support');
  const [contests, setContests] = useState<Record<string, Ticket>>({});
  const [asking, setAsking] = useState<string | null>(null);
  const loadContests = useCallback(() => {
    if (!support) return;
    api<List<Ticket>>('/api/support/tickets?mine=true&category=grades&limit=500')
      .then((r) => {
        const by: Record<string, Ticket> = {};
        for (const t of r.items) if (t.evaluation_id && t.state !== 'closed') by[t.evaluation_id] = t;
        setContests(by);
      })
      .catch(() => setContests({}));
  }, [api, support]);
  useEffect(loadContests, [loadContests]);

  useEffect(() => {
    api<StudentReport>('/api/notes/me')
      .then((r) => {
        setReport(r);
        const today = new Date().toISOString().slice(0, 10);
        const current = r.periods.find((p) => p.starts_on <= today && today <= p.ends_on && p.subjects.length) ||
          [...r.periods].reverse().find((p) => p.subjects.length) || r.periods[0];
        setPeriodId(current?.id ?? '');
      })
      .catch((e) => setError(errorText(e)));
  }, [api]);

  if (error) return <><PageTitle title="Mes notes" /><Alert>{error}</Alert></>;
  if (!report) return <><PageTitle title="Mes notes" /><Spinner /></>;
  const period = report.periods.find((p) => p.id === periodId);

  return (
    <>
      <PageTitle title="Mes notes" />
      {report.periods.length === 0 ? (
        <Card><Empty>Aucune période de notation pour le moment.</Empty></Card>
      ) : (
        <>
          <div className="toolbar">
            <div className="field">
              <label htmlFor="period">Période</label>
              <select id="period" value={periodId} onChange={(e) => setPeriodId(e.target.value)}>
                {report.periods.map((p) => (
                  <option key={p.id} value={p.id}>{p.name} — {p.school_year}</option>
                ))}
              </select>
            </div>
          </div>
          {period && (
            <div className="grid-2 grid-wide-first">
              <Card title="Évolution de ma moyenne">
                {report.timeline.length === 0 ? <Empty>Pas encore de note.</Empty> : <AverageChart points={report.timeline} />}
              </Card>
              <Card title={period.name}>
                <ul className="stats stats-column">
                  <li>
                    <span className="muted">Ma moyenne générale</span>
                    <strong className="big" data-testid="general-average">{period.average === null ? '—' : `${fmtNum(period.average)}/20`}</strong>
                  </li>
                  <li>
                    <span className="muted">Moyenne de la classe</span>
                    <strong>{period.class_average === null ? '—' : `${fmtNum(period.class_average)}/20`}</strong>
                  </li>
                  <li>
                    <span className="muted">Du {fmtDate(period.starts_on)} au {fmtDate(period.ends_on)}</span>
                  </li>
                </ul>
              </Card>
            </div>
          )}
          {period && period.subjects.length === 0 && <Card><Empty>Aucune note sur cette période.</Empty></Card>}
          {period?.subjects.map((s) => (
            <Card
              key={s.course_id}
              title={s.title}
              actions={<span className="grade-pill big-pill">{s.average === null ? '—' : `${fmtNum(s.average)}/20`}</span>}
            >
              <p className="small muted">
                {s.teachers.length > 0 && `${s.teachers.join(', ')} · `}Classe (moyennes sur 20) : moyenne {fmtNum(s.class_average)}/20, min {fmtNum(s.min)}/20, max {fmtNum(s.max)}/20
              </p>
              <TableWrap label={`Évaluations de ${s.title}`}>
                <table className="table">
                  <caption className="visually-hidden">Évaluations de {s.title}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Évaluation</th>
                      <th scope="col" className="hide-sm">Date</th>
                      <th scope="col">Ma note</th>
                      <th scope="col" className="hide-sm">Coef.</th>
                      <th scope="col" className="hide-sm">Classe, sur le barème de l'évaluation</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.evaluations.map((e) => (
                      <Fragment key={e.id}>
                        <tr>
                          <th scope="row">
                            {e.title}
                            <span className="small muted block show-sm">
                              {fmtDate(e.date)} · coef. {fmtNum(e.coefficient)} · classe : {classFigures(e)}
                            </span>
                            {e.comment && <span className="small muted block">« {e.comment} »</span>}
                            {support && e.status && (
                              <span className="block contest-action">
                                {contests[e.id] ? (
                                  <Link to={`/support/demandes/${contests[e.id].id}`} className="small">
                                    Révision demandée : {contests[e.id].state_label}
                                    <span className="visually-hidden"> ({e.title})</span>
                                  </Link>
                                ) : asking !== e.id ? (
                                  <button type="button" className="button button-small" onClick={() => setAsking(e.id)}>
                                    Demander une révision<span className="visually-hidden"> : {e.title}</span>
                                  </button>
                                ) : null}
                              </span>
                            )}
                          </th>
                          <td className="nowrap hide-sm">{fmtDate(e.date)}</td>
                          <td className="nowrap"><strong>{evalText(e)}</strong></td>
                          <td className="hide-sm">{fmtNum(e.coefficient)}</td>
                          <td className="nowrap hide-sm" data-testid="class-figures">{classFigures(e)}</td>
                        </tr>
                        {asking === e.id && (
                          <tr className="contest-row">
                            <td colSpan={5}>
                              <ContestForm
                                e={e}
                                onCancel={() => setAsking(null)}
                                onConflict={loadContests}
                              />
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </Card>
          ))}
        </>
      )}
    </>
  );
}

function TeacherNotes() {
  const { api, download } = useApi();
  const [courses, setCourses] = useState<Cours[] | null>(null);
  const [periods, setPeriods] = useState<Period[]>([]);
  const [courseId, setCourseId] = useState('');
  const [periodId, setPeriodId] = useState('');
  const [grid, setGrid] = useState<Grid | null>(null);
  const [evalId, setEvalId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [saving, setSaving] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<number, string>>({});

  useEffect(() => {
    Promise.all([api<List<Cours>>('/api/cours?limit=200'), api<List<Period>>('/api/notes/periods')])
      .then(([c, p]) => {
        setCourses(c.items);
        setPeriods(p.items);
        if (c.items.length) setCourseId(c.items[0].id);
        const today = new Date().toISOString().slice(0, 10);
        const year = currentSchoolYear();
        const cur = p.items.find((x) => x.starts_on <= today && today <= x.ends_on) || p.items.find((x) => x.school_year === year) || p.items[0];
        if (cur) setPeriodId(cur.id);
      })
      .catch((e) => setError(errorText(e)));
  }, [api]);

  const loadGrid = useCallback(
    async (keepEval?: string) => {
      if (!courseId) return;
      try {
        const q = periodId ? `?period_id=${encodeURIComponent(periodId)}` : '';
        const g = await api<Grid>(`/api/notes/courses/${courseId}/grid${q}`);
        setGrid(g);
        setEvalId((old) => {
          const want = keepEval || old;
          return g.evaluations.some((e) => e.id === want) ? want : (g.evaluations[g.evaluations.length - 1]?.id ?? '');
        });
        setError(null);
      } catch (e) {
        setGrid(null);
        setError(errorText(e));
      }
    },
    [courseId, periodId, api],
  );
  useEffect(() => {
    setServerErrors({});
    loadGrid();
  }, [loadGrid]);

  const evaluation = grid?.evaluations.find((e) => e.id === evalId);

  const save = async (lines: GradeLine[]) => {
    if (!evaluation) return;
    setSaving(true);
    setOk(null);
    setServerErrors({});
    try {
      await api(`/api/notes/evaluations/${evaluation.id}/grades`, { method: 'PUT', json: { grades: lines } });
      setOk(`Notes de « ${evaluation.title} » enregistrées.`);
      setError(null);
      await loadGrid(evaluation.id);
    } catch (e) {
      if (e instanceof ApiError && e.problem.errors) {
        const byRow: Record<number, string> = {};
        for (const [k, v] of Object.entries(e.problem.errors)) {
          const m = /^grades\[(\d+)\]/.exec(k);
          if (m) byRow[Number(m[1])] = fieldText(k, e.problem.codes?.[k], v);
        }
        setServerErrors(byRow);
      }
      setError(errorText(e));
    } finally {
      setSaving(false);
    }
  };

  const exportCsv = () => {
    const q = periodId ? `?period_id=${encodeURIComponent(periodId)}` : '';
    download(`/api/notes/courses/${courseId}/grid.csv${q}`, 'grid.csv').catch((e) => setError(errorText(e)));
  };

  if (courses === null) return <><PageTitle title="Notes" />{error ? <Alert>{error}</Alert> : <Spinner />}</>;

  return (
    <>
      <PageTitle title="Saisie des notes">
        {courseId && (
          <button type="button" className="button" onClick={exportCsv}>
            Exporter en CSV
          </button>
        )}
      </PageTitle>
      {courses.length === 0 ? (
        <Card><Empty>Vous n'enseignez dans aucun cours.</Empty></Card>
      ) : (
        <>
          <div className="toolbar">
            <div className="field">
              <label htmlFor="t-course">Cours</label>
              <select id="t-course" value={courseId} onChange={(e) => setCourseId(e.target.value)}>
                {courses.map((c) => (
                  <option key={c.id} value={c.id}>{c.title}</option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="t-period">Période</label>
              <select id="t-period" value={periodId} onChange={(e) => setPeriodId(e.target.value)}>
                <option value="">Toutes les périodes</option>
                <PeriodOptions periods={periods} />
              </select>
            </div>
            <div className="field">
              <label htmlFor="t-eval">Évaluation</label>
              <select id="t-eval" value={evalId} onChange={(e) => { setServerErrors({}); setEvalId(e.target.value); }} disabled={!grid?.evaluations.length}>
                {!grid?.evaluations.length && <option value="">Aucune évaluation</option>}
                {grid?.evaluations.map((e) => (
                  <option key={e.id} value={e.id}>{e.title} — {fmtDate(e.date)}</option>
                ))}
              </select>
            </div>
            <button type="button" className="button button-primary toolbar-end" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
              Nouvelle évaluation
            </button>
          </div>
          {creating && (
            <CreateEvaluation
              courseId={courseId}
              periods={periods}
              periodId={periodId}
              onCancel={() => setCreating(false)}
              onCreated={(ev) => {
                setCreating(false);
                setOk(`Évaluation « ${ev.title} » créée.`);
                if (ev.period_id && ev.period_id !== periodId) setPeriodId(ev.period_id);
                setEvalId(ev.id);
                loadGrid(ev.id);
              }}
            />
          )}
          {error && <Alert>{error}</Alert>}
          {ok && <Alert kind="success">{ok}</Alert>}
          {grid && evaluation ? (
            <Card
              title={`${evaluation.title}`}
              actions={
                <span className="small muted">
                  {fmtDate(evaluation.date)} · coef. {fmtNum(evaluation.coefficient)} · noté sur {evaluation.scale}
                  {evaluation.average != null && ` · moyenne ${onScale(evaluation.average, evaluation.scale)}`}
                </span>
              }
            >
              {grid.students.length === 0 ? (
                <Empty>Aucun élève dans les classes de ce cours.</Empty>
              ) : (
                <GradeGrid grid={grid} evaluationId={evaluation.id} scale={evaluation.scale} serverErrors={serverErrors} onSave={save} saving={saving} />
              )}
            </Card>
          ) : grid ? (
            <Card><Empty>Aucune évaluation sur cette période : créez-en une.</Empty></Card>
          ) : (
            !error && <Spinner />
          )}
        </>
      )}
    </>
  );
}

function CreateEvaluation({ courseId, periods, periodId, onCreated, onCancel }: {
  courseId: string; periods: Period[]; periodId: string; onCreated: (e: Evaluation) => void; onCancel: () => void;
}) {
  const { api } = useApi();
  const [title, setTitle] = useState('');
  const [date, setDate] = useState(new Date().toISOString().slice(0, 10));
  // The open periods of the current school year, the period of today first; others on demand.
  const year = currentSchoolYear();
  const open = periods.filter((p) => !p.closed);
  const [allYears, setAllYears] = useState(false);
  const offered = allYears ? open : open.filter((p) => p.school_year === year);
  const today = new Date().toISOString().slice(0, 10);
  const [period, setPeriod] = useState(
    offered.find((p) => p.id === periodId)?.id || offered.find((p) => p.starts_on <= today && today <= p.ends_on)?.id || offered[0]?.id || '',
  );
  const [coefficient, setCoefficient] = useState('1');
  const [scale, setScale] = useState('20');
  const [publishAt, setPublishAt] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body: Record<string, unknown> = {
        course_id: courseId,
        period_id: period,
        title: title.trim(),
        date,
        coefficient: Number(coefficient.replace(',', '.')),
        scale: Number(scale),
      };
      if (publishAt) body.publish_at = new Date(publishAt).toISOString();
      onCreated(await api<Evaluation>('/api/notes/evaluations', { method: 'POST', json: body }));
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Card title="Nouvelle évaluation">
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor="ev-title">Titre</label>
            <input id="ev-title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Contrôle n°1" />
          </div>
          <div className="field">
            <label htmlFor="ev-date">Date</label>
            <input id="ev-date" type="date" required value={date} onChange={(e) => setDate(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="ev-period">Période</label>
            <select id="ev-period" required value={period} onChange={(e) => setPeriod(e.target.value)}>
              {offered.length === 0 && <option value="">Aucune période ouverte en {year}</option>}
              <PeriodOptions periods={offered} />
            </select>
            <label className="check small">
              <input type="checkbox" checked={allYears} onChange={(e) => setAllYears(e.target.checked)} /> Autres années scolaires
            </label>
          </div>
        </div>
        <div className="form-row">
          <div className="field">
            <label htmlFor="ev-coef">Coefficient</label>
            <input id="ev-coef" inputMode="decimal" required value={coefficient} onChange={(e) => setCoefficient(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="ev-scale">Barème (noté sur)</label>
            <input id="ev-scale" type="number" min={1} max={1000} required value={scale} onChange={(e) => setScale(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="ev-publish">Publication aux élèves (vide : dès l'enregistrement)</label>
            <input id="ev-publish" type="datetime-local" value={publishAt} onChange={(e) => setPublishAt(e.target.value)} />
          </div>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary">Créer l'évaluation</button>
          <button type="button" className="button" onClick={onCancel}>Annuler</button>
        </div>
      </form>
    </Card>
  );
}
