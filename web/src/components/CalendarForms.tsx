// The calendar's dialogs: a teacher's new lesson series, new homework or a change to one (with its
// attachments, files sent to fichiers), and one lesson's details with what its teachers may change
// (cancel, another room, another time) for this lesson, this one and the following, or the whole series.
import { useEffect, useId, useState, type FormEvent } from 'react';
import { useApi, type List } from '../lib/api';
import { subjectLabel } from '../lib/format';
import type {
  CalendarEventPatch,
  CalendarSeries,
  Cours,
  Homework,
  HomeworkPatch,
  NewCalendarEvent,
  NewHomework,
  Occurrence,
  OccurrenceChange,
} from '../lib/types';
import {
  addDays,
  byDay,
  daysBetween,
  fmtDayFull,
  fmtRange,
  fmtWhenLong,
  icalUtc,
  parisDay,
  parisTime,
  parisToUtc,
  schoolYearEnd,
} from '../lib/paris';
import { AttachmentsField, type Attached, type Uploading } from './Attachments';
import { Dialog } from './Dialog';
import { roomChange, timeChange } from './Timetable';
import { Alert, errorText } from './ui';

const DAY_NAMES = ['lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi', 'dimanche'];
function dayName(day: string): string {
  return DAY_NAMES[(new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7];
}

type Repeat = 'weekly' | 'ab' | 'once';

/** A teacher's new lesson series: a course, a day and times, a room, every week or every other week (A/B) until a date. */
export function SeriesDialog({
  courses,
  firstDay,
  onClose,
  onCreated,
}: {
  courses: Cours[];
  firstDay: string;
  onClose: () => void;
  onCreated: (message: string, day: string) => void;
}) {
  const { api } = useApi();
  const id = useId();
  const [courseId, setCourseId] = useState(courses[0]?.id ?? '');
  const course = courses.find((c) => c.id === courseId);
  const [title, setTitle] = useState(course ? subjectLabel(course.subject) || course.title : '');
  const [day, setDay] = useState(firstDay);
  const [start, setStart] = useState('08:00');
  const [end, setEnd] = useState('09:00');
  const [room, setRoom] = useState('');
  const [repeat, setRepeat] = useState<Repeat>('weekly');
  const [until, setUntil] = useState(schoolYearEnd(firstDay));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const pickCourse = (cid: string) => {
    const old = courses.find((c) => c.id === courseId);
    const c = courses.find((x) => x.id === cid);
    // The title follows the course while the teacher has not typed another one.
    if (c && (!title || (old && title === (subjectLabel(old.subject) || old.title)))) setTitle(subjectLabel(c.subject) || c.title);
    setCourseId(cid);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (end <= start) return setError("L'heure de fin doit être après l'heure de début.");
    if (repeat !== 'once' && until < day) return setError('La date de fin de la série doit être après le premier cours.');
    const rrule =
      repeat === 'once'
        ? null
        : `FREQ=WEEKLY;${repeat === 'ab' ? 'INTERVAL=2;' : ''}BYDAY=${byDay(day)};UNTIL=${icalUtc(parisToUtc(until, '23:59'))}`;
    const body: NewCalendarEvent = {
      kind: 'lesson',
      course_id: courseId,
      title: title.trim(),
      location: room.trim() || null,
      starts_at: parisToUtc(day, start),
      ends_at: parisToUtc(day, end),
      time_zone: 'Europe/Paris',
      rrule,
    };
    setBusy(true);
    setError(null);
    try {
      await api<CalendarSeries>('/api/calendar/events', { method: 'POST', json: body });
      const how =
        repeat === 'once'
          ? `le ${dayName(day)} ${fmtDayFull(day)}`
          : `${repeat === 'ab' ? 'un ' : 'chaque '}${dayName(day)}${repeat === 'ab' ? ' sur deux' : ''} jusqu'au ${fmtDayFull(until)}`;
      onCreated(`Cours « ${body.title} » ajouté : ${how}, de ${start.replace(':', ' h ')} à ${end.replace(':', ' h ')}.`, day);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <Dialog title="Nouvelle série de cours" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${id}-course`}>Cours</label>
            <select id={`${id}-course`} value={courseId} onChange={(e) => pickCourse(e.target.value)} required>
              {courses.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-title`}>Intitulé</label>
            <input id={`${id}-title`} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
          </div>
        </div>
        <div className="form-row form-row-3">
          <div className="field">
            <label htmlFor={`${id}-day`}>Premier cours le</label>
            <input id={`${id}-day`} type="date" value={day} onChange={(e) => setDay(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-start`}>Début</label>
            <input id={`${id}-start`} type="time" step={300} value={start} onChange={(e) => setStart(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-end`}>Fin</label>
            <input id={`${id}-end`} type="time" step={300} value={end} onChange={(e) => setEnd(e.target.value)} required />
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-room`}>Salle</label>
          <input id={`${id}-room`} value={room} onChange={(e) => setRoom(e.target.value)} maxLength={100} placeholder="Salle 101" />
        </div>
        <fieldset className="field">
          <legend>Répétition</legend>
          <div className="checks checks-column">
            <label className="check">
              <input type="radio" name={`${id}-repeat`} checked={repeat === 'weekly'} onChange={() => setRepeat('weekly')} />
              Chaque semaine
            </label>
            <label className="check">
              <input type="radio" name={`${id}-repeat`} checked={repeat === 'ab'} onChange={() => setRepeat('ab')} />
              Une semaine sur deux (semaines A/B)
            </label>
            <label className="check">
              <input type="radio" name={`${id}-repeat`} checked={repeat === 'once'} onChange={() => setRepeat('once')} />
              Une seule fois
            </label>
          </div>
        </fieldset>
        {repeat !== 'once' && (
          <div className="field">
            <label htmlFor={`${id}-until`}>Jusqu'au</label>
            <input id={`${id}-until`} type="date" value={until} min={day} onChange={(e) => setUntil(e.target.value)} required />
          </div>
        )}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy || !courseId}>
            Créer la série
          </button>
          <button type="button" className="button" onClick={onClose}>
            Annuler
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The start time of the course's lesson on that day, among the loaded ones, else 08:00. */
function lessonTime(items: Occurrence[], courseId: string, day: string): string {
  const o = items.find((x) => x.course_id === courseId && x.kind === 'lesson' && x.status !== 'cancelled' && parisDay(x.starts_at) === day);
  return o ? parisTime(o.starts_at) : '08:00';
}

/** New homework for a course: what to do, for when; given in a lesson when opened from one. */
export function HomeworkDialog({
  courses,
  items,
  from,
  edit,
  dueDay,
  onClose,
  onCreated,
}: {
  courses: Cours[];
  items: Occurrence[];
  from?: Occurrence;
  /** The homework changed (absent: a new one). */
  edit?: Homework;
  dueDay: string;
  onClose: () => void;
  onCreated: (message: string) => void;
}) {
  const { api } = useApi();
  const id = useId();
  const [courseId, setCourseId] = useState(edit?.course_id ?? from?.course_id ?? courses[0]?.id ?? '');
  const [title, setTitle] = useState(edit?.title ?? '');
  const [work, setWork] = useState(edit?.work ?? '');
  const [inClass, setInClass] = useState(edit?.done_in_class ?? '');
  const [due, setDue] = useState(edit ? parisDay(edit.due_at) : dueDay);
  const [files, setFiles] = useState<Attached[]>(edit?.attachments.map((f) => ({ id: f.file_id, name: f.name, size: f.size })) ?? []);
  const [uploads, setUploads] = useState<Uploading[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [lessons, setLessons] = useState<Occurrence[]>([]);

  // The coming lessons: homework given in a lesson is due by default at its course's next lesson
  // (an A/B series skips a week), and at the time of the course's lesson on the day chosen.
  useEffect(() => {
    const day = from ? parisDay(from.starts_at) : parisDay();
    api<List<Occurrence>>(`/api/calendar/events?from=${day}&to=${addDays(day, 60)}&kind=lesson`)
      .then((l) => {
        setLessons(l.items);
        const next = from && l.items.find((o) => o.course_id === from.course_id && o.status !== 'cancelled' && parisDay(o.starts_at) > day);
        if (next) setDue((d) => (d === dueDay ? parisDay(next.starts_at) : d));
      })
      .catch(() => {});
  }, [api, from, dueDay]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: NewHomework = {
      course_id: courseId,
      title: title.trim(),
      work: work.trim() || null,
      done_in_class: inClass.trim() || null,
      // A changed homework keeps its time when its day stays.
      due_at: edit && parisDay(edit.due_at) === due ? edit.due_at : parisToUtc(due, lessonTime([...lessons, ...items], courseId, due)),
      file_ids: files.map((f) => f.id),
    };
    if (!edit && from && from.course_id === courseId) {
      body.event_id = from.event_id;
      body.occurrence_id = from.occurrence_id;
    }
    setBusy(true);
    setError(null);
    try {
      if (edit) {
        const patch: HomeworkPatch = { title: body.title, work: body.work, done_in_class: body.done_in_class, due_at: body.due_at, file_ids: body.file_ids };
        await api<Homework>(`/api/calendar/homework/${edit.id}`, { method: 'PATCH', json: patch });
        onCreated(`Devoir « ${body.title} » modifié.`);
      } else {
        await api<Homework>('/api/calendar/homework', { method: 'POST', json: body });
        onCreated(`Devoir « ${body.title} » donné pour le ${dayName(due)} ${fmtDayFull(due)}.`);
      }
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <Dialog title={edit ? 'Modifier le devoir' : 'Nouveau devoir'} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        {from && (
          <p className="muted small">
            Donné pendant le cours « {from.title} » du {fmtWhenLong(from.starts_at)}.
          </p>
        )}
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${id}-course`}>Cours</label>
            <select id={`${id}-course`} value={courseId} onChange={(e) => setCourseId(e.target.value)} required disabled={!!edit}>
              {courses.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-due`}>Pour le</label>
            <input id={`${id}-due`} type="date" value={due} onChange={(e) => setDue(e.target.value)} required />
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-title`}>Travail à faire</label>
          <input id={`${id}-title`} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} placeholder="Exercices 12 à 15 p. 84" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-work`}>Consignes (facultatif)</label>
          <textarea id={`${id}-work`} rows={3} value={work} onChange={(e) => setWork(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-class`}>Fait en classe (facultatif)</label>
          <textarea id={`${id}-class`} rows={2} value={inClass} onChange={(e) => setInClass(e.target.value)} />
        </div>
        <AttachmentsField
          id={`${id}-files`}
          files={files}
          onChange={setFiles}
          uploads={uploads}
          setUploads={setUploads}
          onError={(err) => setError(errorText(err))}
        />
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy || !courseId || uploads.length > 0}>
            {edit ? 'Enregistrer' : 'Donner le devoir'}
          </button>
          <button type="button" className="button" onClick={onClose}>
            Annuler
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type Scope = 'one' | 'following' | 'all';
const SCOPES: { value: Scope; label: string }[] = [
  { value: 'one', label: 'Cette séance' },
  { value: 'following', label: 'Celle-ci et les suivantes' },
  { value: 'all', label: 'Toute la série' },
];

/** rrule with its BYDAY set to the weekday of day (a series moved to another day of the week). */
function withDay(rrule: string | null, day: string): string | null {
  if (!rrule) return rrule;
  return /BYDAY=[A-Z,]+/.test(rrule) ? rrule.replace(/BYDAY=[A-Z,]+/, `BYDAY=${byDay(day)}`) : `${rrule};BYDAY=${byDay(day)}`;
}

/**
 * One lesson: its details, and for its teachers (canEdit) cancel, another room, another time, for
 * this lesson, this one and the following (the series is split there) or the whole series.
 */
export function OccurrenceDialog({
  occ,
  canEdit,
  onClose,
  onChanged,
  onHomework,
}: {
  occ: Occurrence;
  canEdit: boolean;
  onClose: () => void;
  onChanged: (message: string) => void;
  onHomework: () => void;
}) {
  const { api } = useApi();
  const id = useId();
  const [scope, setScope] = useState<Scope>('one');
  const [note, setNote] = useState('');
  const [room, setRoom] = useState(occ.location ?? '');
  const [day, setDay] = useState(parisDay(occ.starts_at));
  const [start, setStart] = useState(parisTime(occ.starts_at));
  const [end, setEnd] = useState(parisTime(occ.ends_at));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const base = `/api/calendar/events/${occ.event_id}`;
  const one = `${base}/occurrences/${encodeURIComponent(occ.occurrence_id)}`;
  const originalDay = parisDay(occ.occurrence_id);

  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await work());
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  /** The series, and whether the scope "following" starts at its first lesson (then it is all of it). */
  const series = async () => {
    const s = await api<CalendarSeries>(base);
    return { s, fromFirst: s.starts_at === occ.occurrence_id };
  };
  const patch = (body: CalendarEventPatch, following: boolean) =>
    api<CalendarSeries>(following ? `${base}?scope=following&occurrence_id=${encodeURIComponent(occ.occurrence_id)}` : base, {
      method: 'PATCH',
      json: body,
    });

  const cancel = () =>
    run(async () => {
      if (scope === 'one') {
        const body: OccurrenceChange = { status: 'cancelled', note: note.trim() || null };
        await api<Occurrence>(one, { method: 'PUT', json: body });
        return `Le cours « ${occ.title} » du ${fmtWhenLong(occ.starts_at)} est annulé.`;
      }
      const { fromFirst } = await series();
      if (scope === 'all' || fromFirst) {
        await api(base, { method: 'DELETE' });
        return `La série « ${occ.title} » est supprimée.`;
      }
      // This one and the following: the series is split here, and its second part deleted.
      const rest = await patch({}, true);
      await api(`/api/calendar/events/${rest.id}`, { method: 'DELETE' });
      return `La série « ${occ.title} » s'arrête avant le ${fmtWhenLong(occ.occurrence_id)}.`;
    });

  const changeRoom = (e: FormEvent) => {
    e.preventDefault();
    run(async () => {
      const location = room.trim() || null;
      if (scope === 'one') {
        await api<Occurrence>(one, { method: 'PUT', json: { location, note: note.trim() || null } satisfies OccurrenceChange });
        return `Le cours du ${fmtWhenLong(occ.starts_at)} aura lieu ${location ? `en ${location}` : 'sans salle'}.`;
      }
      const { fromFirst } = await series();
      await patch({ location }, scope === 'following' && !fromFirst);
      return `${scope === 'all' || fromFirst ? 'Toute la série' : 'Ce cours et les suivants'} : ${location ?? 'sans salle'}.`;
    });
  };

  const move = (e: FormEvent) => {
    e.preventDefault();
    if (end <= start) {
      setError("L'heure de fin doit être après l'heure de début.");
      return;
    }
    run(async () => {
      if (scope === 'one') {
        const body: OccurrenceChange = { starts_at: parisToUtc(day, start), ends_at: parisToUtc(day, end), note: note.trim() || null };
        await api<Occurrence>(one, { method: 'PUT', json: body });
        return `Le cours « ${occ.title} » est déplacé au ${fmtWhenLong(body.starts_at!)}.`;
      }
      const { s, fromFirst } = await series();
      const shift = daysBetween(originalDay, day);
      if (scope === 'following' && !fromFirst) {
        await patch({ starts_at: parisToUtc(day, start), ends_at: parisToUtc(day, end), rrule: withDay(s.rrule, day) }, true);
        return `Ce cours et les suivants ont lieu le ${dayName(day)} de ${start} à ${end}.`;
      }
      const first = addDays(parisDay(s.starts_at), shift);
      await patch({ starts_at: parisToUtc(first, start), ends_at: parisToUtc(first, end), rrule: withDay(s.rrule, first) }, false);
      return `Toute la série a lieu le ${dayName(first)} de ${start} à ${end}.`;
    });
  };

  const restore = () =>
    run(async () => {
      await api(one, { method: 'DELETE' });
      return `Le cours du ${fmtWhenLong(occ.occurrence_id)} est rétabli tel que prévu.`;
    });

  const room2 = roomChange(occ);
  const moved = timeChange(occ);
  const cancelLabel = scope === 'one' ? 'Annuler cette séance' : scope === 'following' ? 'Supprimer celle-ci et les suivantes' : 'Supprimer toute la série';

  return (
    <Dialog title={occ.title} onClose={onClose} wide={canEdit}>
      <dl className="details">
        <dt>Quand</dt>
        <dd>
          {occ.all_day ? fmtDayFull(parisDay(occ.starts_at)) : `${fmtWhenLong(occ.starts_at).replace(/ à \d\d:\d\d$/, '')}, ${fmtRange(occ.starts_at, occ.ends_at)}`}
        </dd>
        {occ.location && (
          <>
            <dt>Salle</dt>
            <dd>{occ.location}</dd>
          </>
        )}
        {occ.status !== 'scheduled' && (
          <>
            <dt>Statut</dt>
            <dd>
              {occ.status === 'cancelled' ? <span className="tag tag-red">Annulé</span> : <span className="tag tag-amber">Modifié</span>}
              {room2 && <span className="block">{room2}</span>}
              {moved && <span className="block">{moved}</span>}
            </dd>
          </>
        )}
        {occ.note && (
          <>
            <dt>Message</dt>
            <dd>{occ.note}</dd>
          </>
        )}
        {occ.description && (
          <>
            <dt>Description</dt>
            <dd>{occ.description}</dd>
          </>
        )}
        {occ.recurring && (
          <>
            <dt>Série</dt>
            <dd>Ce cours se répète</dd>
          </>
        )}
      </dl>
      {canEdit && (
        <div className="occ-actions">
          {error && <Alert>{error}</Alert>}
          {occ.recurring && (
            <fieldset className="field">
              <legend>Appliquer à</legend>
              <div className="checks">
                {SCOPES.map((s) => (
                  <label key={s.value} className="check">
                    <input
                      type="radio"
                      name={`${id}-scope`}
                      checked={scope === s.value}
                      onChange={() => {
                        setScope(s.value);
                        setConfirmDelete(false);
                      }}
                    />
                    {s.label}
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          {scope === 'one' && (
            <div className="field">
              <label htmlFor={`${id}-note`}>Message aux élèves (facultatif)</label>
              <input id={`${id}-note`} value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} placeholder="Professeur absent, sortie scolaire…" />
            </div>
          )}
          <section className="occ-action" aria-labelledby={`${id}-h-cancel`}>
            <h3 id={`${id}-h-cancel`}>{scope === 'one' ? 'Annuler' : 'Supprimer'}</h3>
            {scope !== 'one' && <p className="muted small">Les séances concernées sont retirées de l'emploi du temps.</p>}
            <div className="form-actions">
              {scope === 'one' || confirmDelete ? (
                <button type="button" className="button button-danger" disabled={busy} onClick={cancel}>
                  {scope === 'one' ? cancelLabel : `Confirmer : ${cancelLabel.toLowerCase()}`}
                </button>
              ) : (
                <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
                  {cancelLabel}
                </button>
              )}
              {scope === 'one' && occ.status !== 'scheduled' && (
                <button type="button" className="button" disabled={busy} onClick={restore}>
                  Rétablir la séance
                </button>
              )}
            </div>
          </section>
          <form className="occ-action" onSubmit={changeRoom} aria-labelledby={`${id}-h-room`}>
            <h3 id={`${id}-h-room`}>Changer de salle</h3>
            <div className="inline-form">
              <div className="field">
                <label htmlFor={`${id}-room`}>Nouvelle salle</label>
                <input id={`${id}-room`} value={room} onChange={(e) => setRoom(e.target.value)} maxLength={100} />
              </div>
              <button type="submit" className="button" disabled={busy}>
                Changer de salle
              </button>
            </div>
          </form>
          <form className="occ-action" onSubmit={move} aria-labelledby={`${id}-h-move`}>
            <h3 id={`${id}-h-move`}>Déplacer</h3>
            <div className="inline-form">
              <div className="field">
                <label htmlFor={`${id}-day`}>Date</label>
                <input id={`${id}-day`} type="date" value={day} onChange={(e) => setDay(e.target.value)} required />
              </div>
              <div className="field field-time">
                <label htmlFor={`${id}-start`}>Début</label>
                <input id={`${id}-start`} type="time" step={300} value={start} onChange={(e) => setStart(e.target.value)} required />
              </div>
              <div className="field field-time">
                <label htmlFor={`${id}-end`}>Fin</label>
                <input id={`${id}-end`} type="time" step={300} value={end} onChange={(e) => setEnd(e.target.value)} required />
              </div>
              <button type="submit" className="button" disabled={busy}>
                Déplacer
              </button>
            </div>
          </form>
          {occ.kind === 'lesson' && occ.course_id && (
            <div className="form-actions occ-foot">
              <button type="button" className="button" onClick={onHomework}>
                Donner du travail pour ce cours
              </button>
            </div>
          )}
        </div>
      )}
    </Dialog>
  );
}

/** The default due day of homework: the next lesson of the course after day, else a week later. */
export function nextLessonDay(items: Occurrence[], courseId: string | null | undefined, day: string): string {
  const next = items
    .filter((o) => o.course_id === courseId && o.kind === 'lesson' && o.status !== 'cancelled' && parisDay(o.starts_at) > day)
    .sort((a, b) => a.starts_at.localeCompare(b.starts_at))[0];
  return next ? parisDay(next.starts_at) : addDays(day, 7);
}
