// French words of the portal that depend on the server's answers or on a count.
//
// The server gives every problem a stable "code" and every field error one ("codes": field ->
// code, beside "errors": field -> message). The portal shows the French text of the code from
// the tables below, and the server's own message only for a code it does not know (a newer
// server), so nothing is said twice and nothing reaches the screen in another language when the
// code is known. Counts agree in number with Intl.PluralRules('fr') (0 and 1 are singular in
// French: "0 classe créée", "1 élève", "2 élèves").
//
// This file imports nothing, so that tests/browser/i18n.test.mjs can run it under node.

/** French text of a problem's code (the whole answer, no field). */
export const PROBLEM_TEXT: Record<string, string> = {
  validation: 'Certains champs sont à corriger.',
  bad_request: 'La demande est incorrecte.',
  unauthenticated: 'Votre session a expiré ou a été fermée : reconnectez-vous.',
  forbidden: "Vous n'avez pas accès à cette ressource.",
  not_found: 'Ressource introuvable : elle a peut-être été supprimée.',
  conflict: 'Conflit : la ressource a changé ou existe déjà.',
  too_large: 'Fichier ou contenu trop volumineux.',
  unsupported_media_type: "Ce format n'est pas accepté.",
  rate_limited: 'Trop de demandes : réessayez dans un instant.',
  unavailable: 'Le service est momentanément indisponible. Réessayez dans un instant.',
  internal: 'Le serveur a rencontré une erreur. Réessayez plus tard.',
  email_taken: 'Un compte existe déjà avec cette adresse e-mail.',
  external_id_taken: 'Un autre compte a déjà cet identifiant externe.',
  student_one_class: "Un élève n'appartient qu'à une classe : retirez-le d'abord des autres.",
  self_demote: 'Vous ne pouvez ni désactiver ni rétrograder votre propre compte.',
  self_delete: 'Vous ne pouvez pas supprimer votre propre compte.',
  class_name_taken: 'Une classe porte déjà ce nom pour cette année scolaire.',
  year_closed: 'Cette année scolaire est close : ses évaluations et ses notes ne changent plus.',
  year_not_over: "Cette année scolaire n'est pas terminée : elle ne peut pas encore être close.",
  // file_too_large and quota_exceeded are not here: the server's detail says the limit ("64 Ko").
  file_type_refused:
    "Ce type de fichier n'est pas accepté : les programmes, installateurs et scripts exécutables sont refusés. Déposez plutôt un document (PDF, image, texte…).",
};

/**
 * French text of a field error's code; the field's name is said before it. The codes whose
 * message carries the bounds or the choices (length, range, one_of, count) are not here: the
 * server's French message says them ("doit être comprise entre 0 et 20 (le barème)").
 */
export const FIELD_TEXT: Record<string, string> = {
  required: 'est obligatoire',
  unknown_field: "n'est pas un champ attendu",
  not_null: 'ne peut pas être vide',
  not_string: 'doit être un texte',
  control_chars: 'contient des caractères non autorisés',
  not_utf8: 'contient des caractères mal encodés',
  not_uuid: 'doit être un identifiant',
  not_time: 'doit être une date et une heure',
  not_date: 'doit être une date',
  not_email: "n'est pas une adresse e-mail valide",
  not_integer: 'doit être un nombre entier',
  not_number: 'doit être un nombre',
  not_boolean: 'doit valoir oui ou non',
  not_object: 'est mal formé',
  not_list: 'doit être une liste',
  not_school_year: 'doit être une année scolaire comme 2026-2027',
  not_locale: 'doit être une langue comme fr',
  dates_order: 'doit venir après la date de début',
  bad_cursor: "n'est plus valable : rechargez la liste",
  no_such_class: "ne désigne aucune classe existante",
  no_such_course: 'ne désigne aucun cours existant',
  no_such_period: 'ne désigne aucune période existante',
  outside_period: "est en dehors de la période choisie",
  below_grade: 'est inférieur à une note déjà saisie',
  wrong_password: 'est incorrect',
  weak_password: "n'est pas assez robuste",
  email_taken: 'est déjà celle d’un autre compte',
  external_id_taken: 'est déjà celui d’un autre compte',
  class_name_taken: 'est déjà pris pour cette année scolaire',
  student_one_class: "ne peut pas changer : l'élève est dans plusieurs classes",
  year_closed: 'appartient à une année scolaire close',
  course_needs_teacher: 'doit garder au moins un enseignant',
  duplicate: 'apparaît deux fois',
  not_in_course: "n'est pas un élève des classes du cours",
};

/**
 * What the login page says after the provider sent the portal back with an OAuth error code
 * (RFC 6749 4.1.2.1, OpenID Connect 3.1.2.6), by its code only: the provider's own description
 * may be English (Keycloak's is). null: nothing to say (a silent login that found no session).
 */
export function loginErrorText(code: string | undefined): string | null {
  switch (code) {
    case 'login_required':
    case 'interaction_required':
    case 'consent_required':
    case 'account_selection_required':
      return null;
    case 'access_denied':
      return "La connexion a été refusée : vérifiez votre compte ou contactez l'administrateur de l'établissement.";
    case 'temporarily_unavailable':
      return 'Le service de connexion est momentanément indisponible : réessayez dans un instant.';
    default:
      return "La connexion n'a pas abouti : réessayez. Si cela se reproduit, contactez l'administrateur de l'établissement.";
  }
}

/** How a field is named on screen. */
export const FIELD_LABEL: Record<string, string> = {
  email: 'Adresse e-mail',
  given_name: 'Prénom',
  family_name: 'Nom',
  role: 'Rôle',
  class_id: 'Classe',
  password: 'Mot de passe',
  current_password: 'Mot de passe actuel',
  external_id: 'Identifiant externe',
  name: 'Nom',
  school_year: 'Année scolaire',
  title: 'Titre',
  description: 'Description',
  date: 'Date',
  period_id: 'Période',
  course_id: 'Cours',
  coefficient: 'Coefficient',
  scale: 'Barème',
  publish_at: 'Date de publication',
  starts_on: 'Début',
  ends_on: 'Fin',
  file_id: 'Fichier',
  file: 'Fichier',
  subject: 'Matière',
  body: 'Message',
  locale: 'Langue',
  value: 'Note',
  student_id: 'Élève',
  comment: 'Commentaire',
  status: 'Statut',
};

export interface ProblemLike {
  status?: number;
  code?: string;
  detail?: string;
  errors?: Record<string, string>;
  codes?: Record<string, string>;
}

/** "Adresse e-mail", or the field as given ("grades[2].value"). */
export function fieldLabel(field: string): string {
  const line = /^(\w+)\[(\d+)\]\.(\w+)$/.exec(field); // grades[2].value: "Ligne 3, note"
  if (line) return `Ligne ${Number(line[2]) + 1}, ${(FIELD_LABEL[line[3]] ?? line[3]).toLowerCase()}`;
  return FIELD_LABEL[field] ?? field;
}

/** One field's French line: its label and the text of its code, else the server's message. */
export function fieldText(field: string, code: string | undefined, message: string | undefined): string {
  const text = (code && FIELD_TEXT[code]) || message || 'est invalide';
  return `${fieldLabel(field)} ${text}`;
}

/**
 * The French text of a problem: the text of its code (the server's detail when the code is
 * unknown) and one line per field, each said once.
 */
export function problemText(p: ProblemLike, fallback = 'Une erreur est survenue.'): string {
  const fields = Object.keys(p.errors ?? {});
  const lines = fields.map((f) => fieldText(f, p.codes?.[f], p.errors?.[f]));
  const head = (p.code && PROBLEM_TEXT[p.code]) || p.detail || fallback;
  // A conflict on one field (email_taken) says it all in its head line.
  if (fields.length === 1 && p.code && p.codes?.[fields[0]] === p.code && PROBLEM_TEXT[p.code]) return head;
  if (!lines.length) return head;
  return `${head} ${lines.join(' ; ')}.`;
}

const rules = new Intl.PluralRules('fr-FR');
const nf = new Intl.NumberFormat('fr-FR');

/** The form of a word or phrase for n: plural(2, 'classe créée', 'classes créées') = "classes créées". */
export function plural(n: number, one: string, other: string): string {
  return rules.select(n) === 'one' ? one : other;
}

/** n and the agreeing form: count(1, 'élève', 'élèves') = "1 élève", count(0, …) = "0 élève". */
export function count(n: number, one: string, other: string): string {
  return `${nf.format(n)} ${plural(n, one, other)}`;
}

/** "1 élève sur 25 a consulté", "3 élèves sur 25 ont consulté". */
export function consulted(n: number, total: number): string {
  return `${count(n, 'élève', 'élèves')} sur ${nf.format(total)} ${plural(n, 'a', 'ont')} consulté`;
}

/** "de Paul Prof", "d’Alice André": the French "of" before a name. */
export function ofName(name: string): string {
  return /^[aeiouyhàâäéèêëîïôöûüœ]/i.test(name) ? `d’${name}` : `de ${name}`;
}
