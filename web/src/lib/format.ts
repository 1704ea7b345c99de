export const ROLE_LABELS: Record<string, string> = {
  etudiant: 'Élève',
  enseignant: 'Enseignant·e',
  admin: 'Administrateur·rice',
};

const dateFmt = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric' });
const shortFmt = new Intl.DateTimeFormat('fr-FR', { day: '2-digit', month: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });
const numFmt = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });

export function fmtDate(s?: string | null): string {
  if (!s) return '—';
  const d = new Date(s.length === 10 ? `${s}T12:00:00` : s);
  return Number.isNaN(d.getTime()) ? s : dateFmt.format(d);
}
export function fmtShortDate(s: string): string {
  const d = new Date(s.length === 10 ? `${s}T12:00:00` : s);
  return Number.isNaN(d.getTime()) ? s : shortFmt.format(d);
}
export function fmtDateTime(s?: string | null): string {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : dateTimeFmt.format(d);
}
export function fmtNum(n?: number | null): string {
  return n === null || n === undefined ? '—' : numFmt.format(n);
}
export function fmtSize(n?: number | null): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} o`;
  if (n < 1024 * 1024) return `${numFmt.format(n / 1024)} Ko`;
  return `${numFmt.format(n / 1024 / 1024)} Mo`;
}
export function relTime(s: string): string {
  const d = new Date(s).getTime();
  const diff = (Date.now() - d) / 1000;
  if (diff < 60) return "à l'instant";
  if (diff < 3600) return `il y a ${Math.floor(diff / 60)} min`;
  if (diff < 86400) return `il y a ${Math.floor(diff / 3600)} h`;
  return fmtDate(s);
}

const SUBJECTS: Record<string, string> = {
  mathematiques: 'Mathématiques',
  francais: 'Français',
  'histoire-geographie': 'Histoire-Géographie',
  anglais: 'Anglais',
  espagnol: 'Espagnol',
  allemand: 'Allemand',
  svt: 'SVT',
  'physique-chimie': 'Physique-Chimie',
  technologie: 'Technologie',
  eps: 'EPS',
  musique: 'Éducation musicale',
  'arts-plastiques': 'Arts plastiques',
  emc: 'EMC',
};

/** A subject as people write it: the known slugs with their accents, others as given. */
export function subjectLabel(s?: string | null): string {
  if (!s) return '';
  const known = SUBJECTS[s.toLowerCase()];
  if (known) return known;
  return /^[a-z0-9-]+$/.test(s) ? s.charAt(0).toUpperCase() + s.slice(1).replace(/-/g, ' ') : s;
}
