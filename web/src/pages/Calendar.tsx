// /calendar: the week's timetable (a grid, or a list of days on phones), the month, the homework
// to do with each student's own tick (teachers see how many ticked), the teachers' lesson series
// and homework, changes to one lesson or a series, and the personal iCalendar feed.
import { useCallback, useEffect, useId, useRef, useState, useSyncExternalStore } from 'react';
import { useSearchParams } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { useApi, type List } from '../lib/api';
import type { Cours, FeedCreated, FeedState, Homework, Occurrence, Timetable } from '../lib/types';
import {
  addDays,
  addMonths,
  fmtDayFull,
  fmtDayLong,
  fmtDayMonth,
  fmtMonth,
  fmtTime,
  fmtWhen,
  firstOfMonth,
  isoWeek,
  mondayOf,
  parisDay,
  weekdayIndex,
} from '../lib/paris';
import { DayList, MonthGrid, WeekGrid } from '../components/Timetable';
import { HomeworkDialog, OccurrenceDialog, SeriesDialog, nextLessonDay } from '../components/CalendarForms';
import { Alert, Card, Empty, PageTitle, Spinner, errorText } from '../components/ui';
import { fmtSize } from '../lib/format';

/** Whether a media query matches, kept up to date (the phone layout at 640 px and below). */
function useMedia(query: string): boolean {
  const subscribe = useCallback(
    (cb: () => void) => {
      const m = window.matchMedia(query);
      m.addEventListener('change', cb);
      return () => m.removeEventListener('change', cb);
    },
    [query],
  );
  return useSyncExternalStore(subscribe, () => window.matchMedia(query).matches);
}

type View = 'week' | 'month';

/** The day the address names: the Monday of ?semaine=2026-W49, the first of ?mois=2026-12. */
function dayOfParams(params: URLSearchParams): string | null {
  const m = /^(\d{4})-(\d{2})$/.exec(params.get('mois') ?? '');
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) return `${m[1]}-${m[2]}-01`;
  const w = /^(\d{4})-W(\d{2})$/.exec(params.get('semaine') ?? '');
  if (!w || Number(w[2]) < 1 || Number(w[2]) > 53) return null;
  // Week 1 holds 4 January.
  return addDays(mondayOf(`${w[1]}-01-04`), 7 * (Number(w[2]) - 1));
}
type DialogState =
  | { type: 'series' }
  | { type: 'homework'; from?: Occurrence; edit?: Homework; due: string }
  | { type: 'occurrence'; occ: Occurrence }
  | null;

export function CalendarPage() {
  const { session, hasRole } = useAuth();
  const { api, download } = useApi();
  const admin = hasRole('admin');
  const teacher = hasRole('enseignant') || admin;
  const student = hasRole('etudiant') && !teacher;
  const phone = useMedia('(max-width: 640px)');
  const today = parisDay();
  // The period shown is in the address (?semaine=2026-W49, ?mois=2026-12): a reload or a link keeps it.
  const [params, setParams] = useSearchParams();
  const view: View = params.has('mois') ? 'month' : 'week';
  const anchor = dayOfParams(params) ?? today;
  const show = useCallback(
    (v: View, day: string) => setParams(v === 'month' ? { mois: day.slice(0, 7) } : { semaine: isoWeek(day) }, { replace: true }),
    [setParams],
  );
  const setView = (v: View) => show(v, anchor);
  const setAnchor = (day: string) => show(view, day);
  const [items, setItems] = useState<Occurrence[] | null>(null);
  const [courses, setCourses] = useState<Cours[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [version, setVersion] = useState(0);
  const seq = useRef(0);

  const monday = mondayOf(anchor);
  const monthStart = firstOfMonth(anchor);
  const gridStart = mondayOf(monthStart);
  const gridEnd = addDays(mondayOf(addDays(addMonths(monthStart, 1), -1)), 7);
  const from = view === 'week' ? monday : gridStart;
  const to = view === 'week' ? addDays(monday, 7) : gridEnd;
  const periodLabel =
    view === 'week'
      ? `Semaine du ${fmtDayMonth(monday)} au ${fmtDayFull(addDays(monday, 5))}`
      : fmtMonth(monthStart);

  // The week's timetable, or the month's events.
  useEffect(() => {
    const n = ++seq.current;
    setItems(null);
    const req =
      view === 'week'
        ? api<Timetable>(`/api/calendar/timetable?week=${isoWeek(monday)}`).then((t) => t.items)
        : api<List<Occurrence>>(`/api/calendar/events?from=${gridStart}&to=${gridEnd}`).then((l) => l.items);
    req
      .then((list) => {
        if (n !== seq.current) return;
        setItems(list);
        setError(null);
      })
      .catch((e) => {
        if (n !== seq.current) return;
        setItems([]);
        setError(errorText(e));
      });
  }, [api, view, monday, gridStart, gridEnd, version]);

  // The courses a teacher may plan (those they teach; every course for an administrator).
  const me = session?.id;
  useEffect(() => {
    if (!teacher) return;
    api<List<Cours>>('/api/cours?limit=200')
      .then((l) => setCourses(l.items.filter((c) => admin || (me && c.teacher_ids.includes(me)))))
      .catch(() => setCourses([]));
  }, [api, teacher, admin, me]);

  const canEdit = (o: Occurrence) => admin || (!!o.course_id && courses.some((c) => c.id === o.course_id));
  // A teacher's timetable from the API holds every lesson of their classes: by default only
  // theirs (given by them or of a course they teach); the rest on demand.
  const [allClasses, setAllClasses] = useState(false);
  const mine = (o: Occurrence) =>
    (o.kind !== 'lesson' && o.kind !== 'exam') || o.teacher_id === me || (!!o.course_id && courses.some((c) => c.id === o.course_id));
  const filterMine = teacher && !admin && !allClasses;
  const shown = items && filterMine ? items.filter(mine) : items;

  const go = (delta: number) => setAnchor(view === 'week' ? addDays(anchor, 7 * delta) : addMonths(monthStart, delta));
  const done = (message: string) => {
    setDialog(null);
    setStatus(message);
    setVersion((v) => v + 1);
  };
  const unit = view === 'week' ? 'Semaine' : 'Mois';

  const exportIcs = () => {
    download(`/api/calendar/events.ics?from=${from}&to=${to}`, `emploi-du-temps-${view === 'week' ? isoWeek(monday) : monthStart.slice(0, 7)}.ics`).catch((e) =>
      setError(errorText(e)),
    );
  };

  const weekDays = Array.from({ length: 7 }, (_, i) => addDays(monday, i));
  const monthDays: string[] = [];
  for (let d = monthStart; d < addMonths(monthStart, 1); d = addDays(d, 1)) monthDays.push(d);

  return (
    <>
      <PageTitle title="Emploi du temps">
        {teacher && courses.length > 0 && (
          <>
            <button type="button" className="button button-primary" onClick={() => setDialog({ type: 'series' })}>
              Nouvelle série de cours
            </button>
            <button type="button" className="button" onClick={() => setDialog({ type: 'homework', due: addDays(today, 7) })}>
              Nouveau devoir
            </button>
          </>
        )}
      </PageTitle>
      <div role="status">{status && <div className="alert alert-success">{status}</div>}</div>
      {error && <Alert>{error}</Alert>}

      <div className="cal-toolbar">
        <div className="cal-nav" role="group" aria-label="Période affichée">
          <button type="button" className="button" onClick={() => go(-1)} aria-label={`${unit} précédent${view === 'week' ? 'e' : ''}`}>
            <span aria-hidden="true">‹</span>
            <span className="hide-sm" aria-hidden="true">
              Précédent{view === 'week' ? 'e' : ''}
            </span>
          </button>
          <button type="button" className="button" onClick={() => setAnchor(today)}>
            Aujourd'hui
          </button>
          <button type="button" className="button" onClick={() => go(1)} aria-label={`${unit} suivant${view === 'week' ? 'e' : ''}`}>
            <span className="hide-sm" aria-hidden="true">
              Suivant{view === 'week' ? 'e' : ''}
            </span>
            <span aria-hidden="true">›</span>
          </button>
        </div>
        <h2 className="cal-period" aria-live="polite">
          {periodLabel}
          {view === 'week' && <span className="muted cal-weekno"> · semaine {Number(isoWeek(monday).slice(6))}</span>}
        </h2>
        <div className="cal-views" role="group" aria-label="Affichage">
          <button type="button" className={`button ${view === 'week' ? 'button-on' : ''}`} aria-pressed={view === 'week'} onClick={() => setView('week')}>
            Semaine
          </button>
          <button type="button" className={`button ${view === 'month' ? 'button-on' : ''}`} aria-pressed={view === 'month'} onClick={() => setView('month')}>
            Mois
          </button>
        </div>
      </div>

      <section className="card cal-card" aria-label={view === 'week' ? 'Emploi du temps de la semaine' : 'Calendrier du mois'} aria-busy={items === null}>
        {shown === null ? (
          <Spinner />
        ) : view === 'week' ? (
          phone ? (
            <DayList items={shown} today={today} onOpen={(occ) => setDialog({ type: 'occurrence', occ })} days={weekDays} label={periodLabel} />
          ) : (
            <WeekGrid items={shown} today={today} onOpen={(occ) => setDialog({ type: 'occurrence', occ })} monday={monday} label={periodLabel} />
          )
        ) : phone ? (
          <DayList
            items={shown}
            today={today}
            onOpen={(occ) => setDialog({ type: 'occurrence', occ })}
            days={monthDays}
            label={periodLabel}
            emptyDays={false}
          />
        ) : (
          <MonthGrid
            items={shown}
            today={today}
            onOpen={(occ) => setDialog({ type: 'occurrence', occ })}
            start={gridStart}
            month={monthStart.slice(0, 7)}
            label={periodLabel}
            onDay={(d) => show('week', d)}
          />
        )}
        {shown !== null && shown.length === 0 && view === 'week' && !phone && (
          <p className="empty cal-empty">Aucun cours ni événement cette semaine.</p>
        )}
        <div className="cal-legend">
          {teacher && !admin && (
            <label className="check cal-all">
              <input type="checkbox" checked={allClasses} onChange={(e) => setAllClasses(e.target.checked)} />
              Afficher aussi les cours de mes classes donnés par d'autres
            </label>
          )}
          <span className="legend legend-cancelled">Annulé</span>
          <span className="legend legend-changed">Modifié (salle ou horaire)</span>
          <button type="button" className="link-button" onClick={exportIcs}>
            Exporter cette période (.ics)
          </button>
        </div>
      </section>

      <div className="grid-2">
        <HomeworkCard
          from={from}
          to={view === 'week' ? addDays(monday, 21) : to}
          student={student}
          teacher={teacher}
          version={version}
          onStatus={setStatus}
          onEdit={(h) => setDialog({ type: 'homework', edit: h, due: parisDay(h.due_at) })}
        />
        <FeedCard onStatus={setStatus} />
      </div>

      {dialog?.type === 'series' && (
        <SeriesDialog
          courses={courses}
          firstDay={weekdayIndex(anchor) === 6 ? addDays(anchor, 1) : anchor}
          onClose={() => setDialog(null)}
          onCreated={(m, day) => {
            show('week', day);
            done(m);
          }}
        />
      )}
      {dialog?.type === 'homework' && (
        <HomeworkDialog
          courses={courses}
          items={items ?? []}
          from={dialog.from}
          edit={dialog.edit}
          dueDay={dialog.due}
          onClose={() => setDialog(null)}
          onCreated={done}
        />
      )}
      {dialog?.type === 'occurrence' && (
        <OccurrenceDialog
          occ={dialog.occ}
          canEdit={canEdit(dialog.occ)}
          onClose={() => setDialog(null)}
          onChanged={done}
          onHomework={() =>
            setDialog({
              type: 'homework',
              from: dialog.occ,
              due: nextLessonDay(items ?? [], dialog.occ.course_id, parisDay(dialog.occ.starts_at)),
            })
          }
        />
      )}
    </>
  );
}

/** "Travail à faire": homework due in the period, by day; a student ticks their own, a teacher sees how many did. */
function HomeworkCard({
  from,
  to,
  student,
  teacher,
  version,
  onStatus,
  onEdit,
}: {
  from: string;
  to: string;
  student: boolean;
  teacher: boolean;
  version: number;
  onStatus: (s: string) => void;
  onEdit: (h: Homework) => void;
}) {
  const { api, download } = useApi();
  const id = useId();
  const [list, setList] = useState<Homework[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [again, setAgain] = useState(0);

  useEffect(() => {
    let live = true;
    api<List<Homework>>(`/api/calendar/homework?from=${from}&to=${to}`)
      .then((l) => {
        if (!live) return;
        setList(l.items);
        setError(null);
      })
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [api, from, to, version, again]);

  const tick = async (h: Homework, done: boolean) => {
    setList((l) => l && l.map((x) => (x.id === h.id ? { ...x, done } : x)));
    try {
      await api(`/api/calendar/homework/${h.id}/done`, { method: done ? 'PUT' : 'DELETE' });
      onStatus(done ? `« ${h.title} » : fait.` : `« ${h.title} » : à faire.`);
    } catch (e) {
      setList((l) => l && l.map((x) => (x.id === h.id ? { ...x, done: !done } : x)));
      setError(errorText(e));
    }
  };

  const remove = async (h: Homework) => {
    try {
      await api(`/api/calendar/homework/${h.id}`, { method: 'DELETE' });
      onStatus(`Devoir « ${h.title} » supprimé.`);
      setConfirm(null);
      setAgain((n) => n + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const byDay = new Map<string, Homework[]>();
  for (const h of list ?? []) {
    const d = parisDay(h.due_at);
    byDay.set(d, [...(byDay.get(d) ?? []), h]);
  }

  return (
    <Card title="Travail à faire">
      <p className="muted small hw-range">
        Du {fmtDayMonth(from)} au {fmtDayFull(addDays(to, -1))}
      </p>
      {error && <Alert>{error}</Alert>}
      {list === null ? (
        <Spinner />
      ) : list.length === 0 ? (
        <Empty>Aucun travail à faire sur cette période.</Empty>
      ) : (
        [...byDay.entries()].map(([d, hs]) => (
          <div key={d} className="hw-day">
            <h3 id={`${id}-${d}`}>Pour le {fmtDayLong(d).replace(/^./, (c) => c.toLowerCase())}</h3>
            <ul className="list" aria-labelledby={`${id}-${d}`}>
              {hs.map((h) => (
                <li key={h.id} className={`list-row hw ${h.done ? 'hw-done' : ''}`}>
                  <span className="hw-main">
                    <span className="hw-course">{h.course_title ?? 'Cours'}</span>
                    <strong className="hw-title">{h.title}</strong>
                    {h.work && <span className="hw-work">{h.work}</span>}
                    {h.done_in_class && <span className="muted small">Fait en classe : {h.done_in_class}</span>}
                    {h.attachments.length > 0 && (
                      <ul className="hw-files" aria-label={`Pièces jointes : ${h.title}`}>
                        {h.attachments.map((f) => (
                          <li key={f.file_id}>
                            <button
                              type="button"
                              className="link-button"
                              onClick={() =>
                                download(`/api/calendar/homework/${h.id}/files/${f.file_id}`, f.name).catch((e) => setError(errorText(e)))
                              }
                            >
                              {f.name}
                              <span className="visually-hidden"> (télécharger)</span>
                            </button>{' '}
                            <span className="muted small">{fmtSize(f.size)}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </span>
                  {student && (
                    <label className="check hw-tick">
                      <input type="checkbox" checked={!!h.done} onChange={(e) => tick(h, e.target.checked)} />
                      Fait<span className="visually-hidden"> : {h.title}</span>
                    </label>
                  )}
                  {teacher && typeof h.done_count === 'number' && (
                    <span className="hw-count">
                      <span className="grade-pill">
                        {h.done_count}/{h.students_total} élèves ont coché
                      </span>
                      <button type="button" className="link-button" onClick={() => onEdit(h)}>
                        Modifier<span className="visually-hidden"> « {h.title} »</span>
                      </button>
                      {confirm === h.id ? (
                        <button type="button" className="link-button text-danger" onClick={() => remove(h)}>
                          Confirmer la suppression<span className="visually-hidden"> de « {h.title} »</span>
                        </button>
                      ) : (
                        <button type="button" className="link-button" onClick={() => setConfirm(h.id)}>
                          Supprimer<span className="visually-hidden"> « {h.title} »</span>
                        </button>
                      )}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          </div>
        ))
      )}
    </Card>
  );
}

/** "Abonnement iCal": the secret address of one's own feed, shown once when created; copy, replace, revoke. */
function FeedCard({ onStatus }: { onStatus: (s: string) => void }) {
  const { api } = useApi();
  const id = useId();
  const [state, setState] = useState<FeedState | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const load = useCallback(() => {
    api<FeedState>('/api/calendar/feed')
      .then(setState)
      .catch((e) => setError(errorText(e)));
  }, [api]);
  useEffect(load, [load]);

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const f = await api<FeedCreated>('/api/calendar/feed', { method: 'POST' });
      setUrl(f.url);
      setState({ active: true, created_at: f.created_at });
      onStatus("Adresse d'abonnement créée : copiez-la maintenant.");
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    setBusy(true);
    try {
      await api('/api/calendar/feed', { method: 'DELETE' });
      setUrl(null);
      setConfirmRevoke(false);
      setState({ active: false, created_at: null });
      onStatus("Adresse d'abonnement révoquée : elle ne fonctionne plus.");
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      // Without the clipboard API (or its permission): select the text for Ctrl+C.
      input.current?.select();
      if (!document.execCommand('copy')) {
        onStatus('Adresse sélectionnée : copiez-la avec Ctrl+C.');
        return;
      }
    }
    onStatus('Adresse copiée dans le presse-papiers.');
  };

  return (
    <Card title="Abonnement iCal">
      <p className="small">
        Retrouvez votre emploi du temps dans l'agenda de votre téléphone ou de votre messagerie grâce à une adresse
        personnelle et secrète. Ne la partagez pas : elle donne accès à vos cours sans mot de passe.
      </p>
      {error && <Alert>{error}</Alert>}
      {state === null ? (
        <Spinner />
      ) : url ? (
        <div className="feed-new">
          <label htmlFor={`${id}-url`}>Votre adresse d'abonnement</label>
          <div className="copy-row">
            <input id={`${id}-url`} ref={input} readOnly value={url} onFocus={(e) => e.target.select()} data-testid="feed-url" />
            <button type="button" className="button button-primary" onClick={copy}>
              Copier
            </button>
          </div>
          <p className="alert alert-info small" role="note">
            Copiez-la maintenant : elle ne sera plus affichée. Si vous la perdez, créez-en une nouvelle.
          </p>
        </div>
      ) : state.active ? (
        <p>
          <span className="tag tag-green">Actif</span> Abonnement créé le {state.created_at ? fmtDayFull(parisDay(state.created_at)) : '—'}. Son
          adresse n'est plus affichée.
        </p>
      ) : (
        <p className="muted">Aucun abonnement pour le moment.</p>
      )}
      {state && (
        <div className="form-actions">
          <button type="button" className={`button ${state.active ? '' : 'button-primary'}`} disabled={busy} onClick={create}>
            {state.active ? 'Créer une nouvelle adresse' : "Créer mon adresse d'abonnement"}
          </button>
          {state.active &&
            (confirmRevoke ? (
              <button type="button" className="button button-danger" disabled={busy} onClick={revoke}>
                Confirmer la révocation
              </button>
            ) : (
              <button type="button" className="button button-danger" onClick={() => setConfirmRevoke(true)}>
                Révoquer l'adresse
              </button>
            ))}
        </div>
      )}
      {state?.active && !url && <p className="muted small">Une nouvelle adresse remplace l'ancienne, qui cesse de fonctionner.</p>}
    </Card>
  );
}

/** The dashboard tile's line: today's lessons, or the next one. */
export function CalendarTileBadge() {
  const { api } = useApi();
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    const today = parisDay();
    api<List<Occurrence>>(`/api/calendar/events?from=${today}&to=${addDays(today, 8)}`)
      .then((l) => {
        const now = Date.now();
        const lessons = l.items.filter((o) => (o.kind === 'lesson' || o.kind === 'exam') && o.status !== 'cancelled' && !o.all_day);
        const todays = lessons.filter((o) => parisDay(o.starts_at) === today);
        const next = lessons.find((o) => Date.parse(o.ends_at) > now);
        const nextText = next
          ? `${parisDay(next.starts_at) === today ? 'Prochain' : 'Prochain cours'} : ${next.title}, ${
              parisDay(next.starts_at) === today ? `à ${fmtTime(next.starts_at)}` : fmtWhen(next.starts_at)
            }${next.location ? `, ${next.location}` : ''}`
          : null;
        if (todays.length) setText(`Aujourd'hui : ${todays.length} cours${nextText && parisDay(next!.starts_at) === today ? ` · ${nextText}` : ''}`);
        else setText(nextText ?? 'Aucun cours dans les prochains jours');
      })
      .catch(() => setText(null));
  }, [api]);
  return text ? (
    <span className="tile-info" data-testid="calendar-tile">
      {text}
    </span>
  ) : null;
}
