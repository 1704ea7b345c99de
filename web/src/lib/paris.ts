// Dates and times of the school's calendar, on Paris's wall clock whatever the browser's zone.
//
// The API speaks UTC (RFC 3339 with Z); people read and type Paris time. A "day" here is a plain
// date string, 'YYYY-MM-DD', the date in Paris; its arithmetic is done on UTC noon so that no
// clock change or browser zone moves it. Displayed times go through Intl.DateTimeFormat with
// timeZone 'Europe/Paris' and locale fr-FR.

export const TZ = 'Europe/Paris';

const partsFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

interface Parts {
  y: number;
  m: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function partsOf(t: number): Parts {
  const p: Record<string, number> = {};
  for (const x of partsFmt.formatToParts(new Date(t))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { y: p.year, m: p.month, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second };
}

const pad = (n: number) => String(n).padStart(2, '0');
const toMs = (v: string | Date | number) => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : v.getTime());

/** The Paris date of an instant: '2026-12-03'. */
export function parisDay(v: string | Date | number = Date.now()): string {
  const p = partsOf(toMs(v));
  return `${p.y}-${pad(p.m)}-${pad(p.d)}`;
}

/** Minutes since midnight on Paris's clock. */
export function parisMinutes(v: string | Date | number): number {
  const p = partsOf(toMs(v));
  return p.h * 60 + p.mi;
}

/** The Paris time of an instant as an <input type=time> value: '08:00'. */
export function parisTime(v: string | Date | number): string {
  const p = partsOf(toMs(v));
  return `${pad(p.h)}:${pad(p.mi)}`;
}

/** The instant (RFC 3339, UTC, no fraction) of DAY at TIME ('08:30') in Paris. */
export function parisToUtc(day: string, time: string): string {
  const [y, m, d] = day.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, d, h, mi);
  let t = wall;
  // Paris's offset at the guess, then at the corrected instant (twice is enough around a change).
  for (let i = 0; i < 2; i++) {
    const p = partsOf(t);
    const offset = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - t;
    t = wall - offset;
  }
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 5545 UTC form of an instant: '20270703T215959Z'. */
export function icalUtc(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// ---- plain days ----

function noon(day: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d, 12));
}
function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const t = noon(day);
  t.setUTCDate(t.getUTCDate() + n);
  return dayOf(t);
}

export function addMonths(day: string, n: number): string {
  const t = noon(day);
  t.setUTCDate(1);
  t.setUTCMonth(t.getUTCMonth() + n);
  return dayOf(t);
}

/** Days from a to b (b - a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((noon(b).getTime() - noon(a).getTime()) / 86_400_000);
}

/** 0 for Monday … 6 for Sunday. */
export function weekdayIndex(day: string): number {
  return (noon(day).getUTCDay() + 6) % 7;
}

export function mondayOf(day: string): string {
  return addDays(day, -weekdayIndex(day));
}

export function firstOfMonth(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

/** The ISO week of a day: '2026-W49'. */
export function isoWeek(day: string): string {
  const thursday = addDays(day, 3 - weekdayIndex(day));
  const year = Number(thursday.slice(0, 4));
  const week = 1 + Math.floor(daysBetween(`${year}-01-01`, thursday) / 7);
  return `${year}-W${pad(week)}`;
}

/** RFC 5545 BYDAY of a day: 'MO'. */
export function byDay(day: string): string {
  return ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][weekdayIndex(day)];
}

/** The last day of the school year a day belongs to (early July). */
export function schoolYearEnd(day: string): string {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(5, 7));
  return `${m >= 8 ? y + 1 : y}-07-04`;
}

// ---- formatting (fr-FR, Paris) ----

const timeFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
const whenFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const whenLongFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' });
// Plain days are UTC noons: formatted in UTC.
const dayLongFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' });
const dayShortFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' });
const dayFullFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });
const dayMonthFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', day: 'numeric', month: 'long' });
const monthFmt = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', month: 'long', year: 'numeric' });

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** '08:00' */
export function fmtTime(iso: string): string {
  return timeFmt.format(new Date(iso));
}
/** '08:00 – 09:00' */
export function fmtRange(a: string, b: string): string {
  return `${fmtTime(a)} – ${fmtTime(b)}`;
}
/** 'lun. 30 nov., 08:00' */
export function fmtWhen(iso: string): string {
  return whenFmt.format(new Date(iso));
}
/** 'lundi 30 novembre à 08:00' */
export function fmtWhenLong(iso: string): string {
  return whenLongFmt.format(new Date(iso));
}
/** 'Lundi 30 novembre' */
export function fmtDayLong(day: string): string {
  return cap(dayLongFmt.format(noon(day)));
}
/** 'lun. 30 nov.' */
export function fmtDayShort(day: string): string {
  return dayShortFmt.format(noon(day));
}
/** '30 novembre 2026' */
export function fmtDayFull(day: string): string {
  return dayFullFmt.format(noon(day));
}
/** '30 novembre' */
export function fmtDayMonth(day: string): string {
  return dayMonthFmt.format(noon(day));
}
/** 'Décembre 2026' */
export function fmtMonth(day: string): string {
  return cap(monthFmt.format(noon(day)));
}
