// The calendar's views: the week's grid (Monday to Saturday, lessons placed by their Paris time),
// the same week as a list of days for phones, and the month. Each lesson is a button that opens
// its details (and, for its teachers, what can be changed).
import { useId } from 'react';
import type { Occurrence } from '../lib/types';
import {
  addDays,
  addMonths,
  daysBetween,
  fmtDayLong,
  fmtDayShort,
  fmtRange,
  fmtTime,
  fmtWhen,
  mondayOf,
  parisDay,
  parisMinutes,
} from '../lib/paris';

const HOUR_PX = 76;
const KIND_LABELS: Record<Occurrence['kind'], string> = {
  lesson: 'Cours',
  exam: 'Évaluation',
  homework: 'Devoir',
  school: 'Vie scolaire',
  holiday: 'Vacances',
  personal: 'Personnel',
};

/** "Salle 204 (au lieu de 101)": the new room, and the old one without the word they share. */
export function roomChange(o: Occurrence): string | null {
  if (o.status !== 'changed' || !o.original) return null;
  const was = o.original.location ?? '';
  const now = o.location ?? '';
  if (was === now) return null;
  if (!now) return `Sans salle (au lieu de ${was})`;
  if (!was) return now;
  const a = now.split(' ');
  const b = was.split(' ');
  const short = a.length > 1 && b.length > 1 && a[0] === b[0] ? b.slice(1).join(' ') : was;
  return `${now} (au lieu de ${short})`;
}

/** "Déplacé (au lieu de lun. 30 nov., 08:00)" when the time changed. */
export function timeChange(o: Occurrence): string | null {
  if (o.status !== 'changed' || !o.original) return null;
  if (o.original.starts_at === o.starts_at && o.original.ends_at === o.ends_at) return null;
  const was = o.original.starts_at;
  return parisDay(was) === parisDay(o.starts_at) ? `Déplacé (au lieu de ${fmtTime(was)})` : `Déplacé (au lieu du ${fmtWhen(was)})`;
}

/** The lines a lesson shows, whatever the view: its title, its time, its room or what changed. */
function ItemText({ o, withTime = true }: { o: Occurrence; withTime?: boolean }) {
  const room = roomChange(o);
  const moved = timeChange(o);
  return (
    <>
      <span className="tt-title">
        {o.kind !== 'lesson' && <span className="tt-kind">{KIND_LABELS[o.kind]} : </span>}
        {o.title}
      </span>
      {withTime && !o.all_day && (
        <span className="tt-meta tt-time">
          <span className="visually-hidden">, </span>
          {fmtRange(o.starts_at, o.ends_at)}
        </span>
      )}
      {o.status === 'cancelled' && (
        <span className="tt-flag tt-flag-cancelled">
          <span className="visually-hidden">, </span>Annulé
        </span>
      )}
      {room && (
        <span className="tt-flag tt-flag-changed">
          <span className="visually-hidden">, </span>
          {room}
        </span>
      )}
      {moved && (
        <span className="tt-flag tt-flag-changed">
          <span className="visually-hidden">, </span>
          {moved}
        </span>
      )}
      {!room && o.location && (
        <span className="tt-meta">
          <span className="visually-hidden">, </span>
          {o.location}
        </span>
      )}
    </>
  );
}

function itemClass(o: Occurrence): string {
  return `tt-item tt-${o.kind} tt-status-${o.status}`;
}

interface ViewProps {
  items: Occurrence[];
  today: string;
  onOpen: (o: Occurrence) => void;
}

/** The occurrences of a day: all-day ones (and those over several days) apart, the timed ones sorted. */
function splitDay(items: Occurrence[], day: string) {
  const allDay: Occurrence[] = [];
  const timed: Occurrence[] = [];
  for (const o of items) {
    const first = parisDay(o.starts_at);
    // The last day it covers: an end at midnight belongs to the day before.
    const last = parisDay(new Date(Date.parse(o.ends_at) - 1));
    if (day < first || day > last) continue;
    if (o.all_day || first !== last) allDay.push(o);
    else timed.push(o);
  }
  timed.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  return { allDay, timed };
}

/** Side-by-side columns for lessons that overlap: each one's lane and its group's number of lanes. */
function lanes(timed: Occurrence[]): Map<Occurrence, { lane: number; of: number }> {
  const out = new Map<Occurrence, { lane: number; of: number }>();
  let group: Occurrence[] = [];
  let ends: number[] = [];
  let groupEnd = 0;
  const flush = () => {
    for (const o of group) out.get(o)!.of = ends.length;
    group = [];
    ends = [];
  };
  for (const o of timed) {
    const s = Date.parse(o.starts_at);
    const e = Date.parse(o.ends_at);
    if (group.length && s >= groupEnd) flush();
    let lane = ends.findIndex((end) => end <= s);
    if (lane < 0) {
      lane = ends.length;
      ends.push(e);
    } else ends[lane] = e;
    out.set(o, { lane, of: 1 });
    group.push(o);
    groupEnd = Math.max(groupEnd, e);
  }
  flush();
  return out;
}

/** The week as a grid: one column a day (Monday to Saturday, Sunday when it has something), 8:00 to 18:00 at least. */
export function WeekGrid({ items, today, onOpen, monday, label }: ViewProps & { monday: string; label: string }) {
  const id = useId();
  const hasSunday = splitDay(items, addDays(monday, 6)).timed.length + splitDay(items, addDays(monday, 6)).allDay.length > 0;
  const days = Array.from({ length: hasSunday ? 7 : 6 }, (_, i) => addDays(monday, i));
  const perDay = days.map((d) => splitDay(items, d));
  let first = 8 * 60;
  let last = 18 * 60;
  for (const { timed } of perDay)
    for (const o of timed) {
      first = Math.min(first, Math.floor(parisMinutes(o.starts_at) / 60) * 60);
      const end = parisDay(o.ends_at) === parisDay(o.starts_at) ? parisMinutes(o.ends_at) : 24 * 60;
      last = Math.max(last, Math.ceil(end / 60) * 60);
    }
  const hours = Array.from({ length: (last - first) / 60 }, (_, i) => first / 60 + i);
  const height = ((last - first) / 60) * HOUR_PX;
  const anyAllDay = perDay.some((d) => d.allDay.length > 0);

  return (
    <div className="tt" role="region" aria-label={label} style={{ ['--tt-days' as string]: String(days.length) }}>
      <div className="tt-corner" aria-hidden="true" />
      {days.map((d) => (
        <div key={d} className={`tt-dayhead ${d === today ? 'tt-today' : ''}`} id={`${id}-${d}`} aria-current={d === today ? 'date' : undefined}>
          {fmtDayShort(d).replace(/^./, (c) => c.toUpperCase())}
          {d === today && <span className="visually-hidden"> (aujourd'hui)</span>}
        </div>
      ))}
      {anyAllDay && (
        <>
          <div className="tt-allday-label" aria-hidden="true">
            Journée
          </div>
          {days.map((d, i) => (
            <ul key={d} className="tt-allday" aria-label={`${fmtDayLong(d)} : toute la journée`}>
              {perDay[i].allDay.map((o) => (
                <li key={`${o.event_id}-${o.occurrence_id}`}>
                  <button type="button" className={itemClass(o)} onClick={() => onOpen(o)}>
                    <ItemText o={o} withTime={false} />
                  </button>
                </li>
              ))}
            </ul>
          ))}
        </>
      )}
      <div className="tt-hours" aria-hidden="true" style={{ height }}>
        {hours.map((h) => (
          <span key={h} style={{ top: (h * 60 - first) * (HOUR_PX / 60) }}>
            {String(h).padStart(2, '0')}:00
          </span>
        ))}
      </div>
      {days.map((d, i) => {
        const lane = lanes(perDay[i].timed);
        return (
          <div key={d} className={`tt-day ${d === today ? 'tt-today' : ''}`} style={{ height, ['--tt-hour' as string]: `${HOUR_PX}px` }}>
            {perDay[i].timed.length === 0 ? (
              <p className="visually-hidden">{fmtDayLong(d)} : aucun cours</p>
            ) : (
              <ul aria-label={fmtDayLong(d)}>
                {perDay[i].timed.map((o) => {
                  const top = ((parisMinutes(o.starts_at) - first) * HOUR_PX) / 60;
                  const endMin = parisDay(o.ends_at) === parisDay(o.starts_at) ? parisMinutes(o.ends_at) : 24 * 60;
                  const h = Math.max(((endMin - parisMinutes(o.starts_at)) * HOUR_PX) / 60, 26);
                  const { lane: l, of } = lane.get(o)!;
                  return (
                    <li
                      key={`${o.event_id}-${o.occurrence_id}`}
                      className="tt-slot"
                      style={{ top, height: h, left: `calc(${(100 * l) / of}% + 2px)`, width: `calc(${100 / of}% - 4px)` }}
                    >
                      <button type="button" className={itemClass(o)} onClick={() => onOpen(o)}>
                        <ItemText o={o} />
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** One day's occurrences as a list (phones, and the month's days on phones). */
function DayItems({ list, onOpen, label }: { list: Occurrence[]; onOpen: (o: Occurrence) => void; label: string }) {
  return (
    <ul className="day-items" aria-label={label}>
      {list.map((o) => (
        <li key={`${o.event_id}-${o.occurrence_id}`}>
          <button type="button" className={`${itemClass(o)} day-item`} onClick={() => onOpen(o)}>
            {o.all_day || parisDay(o.starts_at) !== parisDay(o.ends_at) ? (
              <span className="day-item-time">Journée</span>
            ) : (
              <span className="day-item-time">
                <span className="visually-hidden">de </span>
                {fmtTime(o.starts_at)}
                <span className="visually-hidden"> à </span>
                <span className="day-item-end">{fmtTime(o.ends_at)}</span>
              </span>
            )}
            <span className="day-item-main">
              <ItemText o={o} withTime={false} />
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The week day by day (phones): each day its heading and its lessons in order. */
export function DayList({ items, today, onOpen, days, label, emptyDays = true }: ViewProps & { days: string[]; label: string; emptyDays?: boolean }) {
  const shown = days
    .map((d) => {
      const { allDay, timed } = splitDay(items, d);
      return { d, list: [...allDay, ...timed] };
    })
    .filter(({ d, list }) => list.length > 0 || (emptyDays && daysBetween(days[0], d) < 6));
  return (
    <div className="day-list" role="region" aria-label={label}>
      {shown.length === 0 && <p className="empty">Rien de prévu sur cette période.</p>}
      {shown.map(({ d, list }) => (
        <section key={d} className={`day-card ${d === today ? 'tt-today' : ''}`} aria-labelledby={`day-${d}`}>
          <h3 id={`day-${d}`}>
            {fmtDayLong(d)}
            {d === today && <span className="today-tag"> Aujourd'hui</span>}
          </h3>
          {list.length === 0 ? <p className="empty small">Aucun cours.</p> : <DayItems list={list} onOpen={onOpen} label={fmtDayLong(d)} />}
        </section>
      ))}
    </div>
  );
}

const WEEKDAYS = ['Lundi', 'Mardi', 'Mercredi', 'Jeudi', 'Vendredi', 'Samedi', 'Dimanche'];

/** The month as a table of weeks; a day's number opens its week. */
export function MonthGrid({
  items,
  today,
  onOpen,
  start,
  month,
  label,
  onDay,
}: ViewProps & { start: string; month: string; label: string; onDay: (day: string) => void }) {
  const weeks: string[][] = [];
  const end = addDays(mondayOf(addDays(addMonths(`${month}-01`, 1), -1)), 7);
  for (let d = start; d < end; d = addDays(d, 1)) {
    if (!weeks.length || weeks[weeks.length - 1].length === 7) weeks.push([]);
    weeks[weeks.length - 1].push(d);
  }
  return (
    <div className="table-wrap month-wrap" role="region" aria-label={label} tabIndex={0}>
      <table className="month">
        <caption className="visually-hidden">{label}</caption>
        <thead>
          <tr>
            {WEEKDAYS.map((w) => (
              <th key={w} scope="col">
                <abbr title={w}>{w.slice(0, 3)}.</abbr>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeks.map((w) => (
            <tr key={w[0]}>
              {w.map((d) => {
                const { allDay, timed } = splitDay(items, d);
                const list = [...allDay, ...timed];
                const other = d.slice(0, 7) !== month;
                return (
                  <td key={d} className={`${other ? 'month-other' : ''} ${d === today ? 'tt-today' : ''}`} aria-current={d === today ? 'date' : undefined}>
                    <button type="button" className="month-num" onClick={() => onDay(d)}>
                      <span aria-hidden="true">{Number(d.slice(8))}</span>
                      <span className="visually-hidden">{fmtDayLong(d)} : voir la semaine</span>
                    </button>
                    {list.length > 0 && (
                      <ul className="month-items">
                        {list.slice(0, 4).map((o) => (
                          <li key={`${o.event_id}-${o.occurrence_id}`}>
                            <button type="button" className={`${itemClass(o)} month-item`} onClick={() => onOpen(o)}>
                              {!o.all_day && <span className="tt-time">{fmtTime(o.starts_at)} </span>}
                              <span className="tt-title">{o.title}</span>
                              {o.status === 'cancelled' && <span className="visually-hidden"> (annulé)</span>}
                              {o.status === 'changed' && <span className="visually-hidden"> (modifié)</span>}
                            </button>
                          </li>
                        ))}
                        {list.length > 4 && <li className="muted small">+{list.length - 4} autres</li>}
                      </ul>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
