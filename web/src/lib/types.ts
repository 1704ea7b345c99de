// Named aliases of the API types that `npm run gen:api` generates from the server's OpenAPI
// document into ./api.gen.ts: nothing here describes a field by hand, so a change of the server's
// answers shows up as a type error in the pages that use it.
//
// The server's schemas are inline (no components), so each alias names the answer of one route:
// `Answer<'/api/cours/{id}'>` is the JSON body of a 200 (or 201) to GET /api/cours/{id}.
//
// Where the document lists a field as optional (not in `required`) although the server always
// sends it, `Sure<T, 'field'>` says so here, in one visible place, instead of a non-null assertion
// in a page. Each of these is a gap of the server's schema to close there (and then remove here).
import type { paths } from './api.gen';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;

/** The JSON body of the success answer (200, else 201) of METHOD PATH. */
export type Answer<P extends keyof paths, M extends Method = 'get'> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer A }
      ? JsonOf<A>
      : never
  : never;

/** The JSON body METHOD PATH takes. */
export type RequestBody<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** One item of a list answer ({items: [...]}). */
export type ItemOf<L> = L extends { items: (infer T)[] } ? T : never;

/** T with the fields K present (they may still be null when the schema says so). */
export type Sure<T, K extends keyof T> = Omit<T, K> & { [F in K]-?: Exclude<T[F], undefined> };

/** T with every field present, at every depth (for answers whose nested objects list no `required`). */
export type Filled<T> = T extends (infer E)[]
  ? Filled<E>[]
  : T extends object
    ? { [K in keyof T]-?: Filled<Exclude<T[K], undefined>> }
    : T;

// --- cours, fichiers -----------------------------------------------------------------------------

export type Cours = Answer<'/api/cours/{id}'>;
export type FileInfo = Answer<'/api/fichiers', 'post'>;
/** A course's material; its `file` is described as a bare object by the schema: the file's info. */
export type Material = Sure<
  Omit<ItemOf<Answer<'/api/cours/{id}/materials'>>, 'file'> & { file?: Pick<FileInfo, 'id' | 'name' | 'content_type' | 'size'> | null },
  'created_at' | 'description' | 'publish_at' | 'file_id' | 'file'
>;
/** Who viewed a material (teachers of the course): every field written. */
export type MaterialViews = Filled<Answer<'/api/cours/{id}/materials/{mid}/views'>>;

// --- users ---------------------------------------------------------------------------------------

export type ClassInfo = ItemOf<Answer<'/api/users/classes'>>;
export type UserInfo = Sure<Answer<'/api/users/{id}'>, 'name' | 'given_name' | 'family_name' | 'email'>;
/** An account just created (or changed): the activation code comes with a new one. */
export type CreatedUser = UserInfo & Omit<Answer<'/api/users', 'post'>, keyof UserInfo>;
export type PasswordReset = Answer<'/api/users/{id}/password-reset', 'post'>;
/** The report of a CSV import (or of its dry run): every field written. */
export type ImportReport = Filled<Answer<'/api/users/import', 'post'>>;

// --- notes ---------------------------------------------------------------------------------------

export type Period = ItemOf<Answer<'/api/notes/periods'>>;
export type Evaluation = Answer<'/api/notes/evaluations', 'post'>;
/** A student's report card (GET /api/notes/me, /api/notes/students/{id}): the server writes every field. */
export type StudentReport = Filled<Answer<'/api/notes/me'>>;
export type PeriodGrades = StudentReport['periods'][number];
export type SubjectGrades = PeriodGrades['subjects'][number];
export type StudentEvaluation = SubjectGrades['evaluations'][number];
/** A course's grade sheet for a period (GET /api/notes/courses/{id}/grid): every field written. */
export type Grid = Filled<Answer<'/api/notes/courses/{id}/grid'>>;
export type GridEvaluation = Grid['evaluations'][number];
export type GridStudent = Grid['students'][number];
export type GradeCell = GridStudent['grades'][string];

// --- notifications -------------------------------------------------------------------------------

export type Notification = ItemOf<Answer<'/api/notifications'>>;
export type UnreadCount = Answer<'/api/notifications/unread-count'>;

// --- calendar ------------------------------------------------------------------------------------

/** What a changed occurrence was (its `original`, an object without properties in the schema). */
export interface OccurrenceOriginal {
  starts_at: string;
  ends_at: string;
  location: string | null;
  teacher_id: string | null;
}
/**
 * One occurrence of an event (GET /api/calendar/events, /api/calendar/timetable): the server
 * writes every field; `original` is described as a bare object by the schema: what it was.
 */
export type Occurrence = Omit<Filled<ItemOf<Answer<'/api/calendar/events'>>>, 'original'> & {
  original: OccurrenceOriginal | null;
};
export type Timetable = Omit<Answer<'/api/calendar/timetable'>, 'items'> & { items: Occurrence[] };
/** An event or a series (GET /api/calendar/events/{id}). */
export type CalendarSeries = Sure<
  Answer<'/api/calendar/events/{id}'>,
  'rrule' | 'exdates' | 'location' | 'course_id' | 'time_zone' | 'all_day'
>;
export type NewCalendarEvent = RequestBody<'/api/calendar/events', 'post'>;
export type CalendarEventPatch = RequestBody<'/api/calendar/events/{id}', 'patch'>;
export type OccurrenceChange = RequestBody<'/api/calendar/events/{id}/occurrences/{occurrence_id}', 'put'>;
/** A homework: `done` for a student (their own tick), `done_count` of `students_total` for its teachers. */
export type Homework = Sure<ItemOf<Answer<'/api/calendar/homework'>>, 'course_title' | 'work' | 'done_in_class'>;
export type NewHomework = RequestBody<'/api/calendar/homework', 'post'>;
export type HomeworkPatch = RequestBody<'/api/calendar/homework/{id}', 'patch'>;
export type FeedState = Answer<'/api/calendar/feed'>;
export type FeedCreated = Answer<'/api/calendar/feed', 'post'>;

// --- messagerie ----------------------------------------------------------------------------------

/** A message as the caller holds it (GET /api/messages/{id}). */
export type Message = Sure<Answer<'/api/messages/{id}'>, 'body' | 'sent_at' | 'created_at' | 'acked_at' | 'recalled_at' | 'read_at'>;
/** An address of a message (to, cc, bcc), with its name. */
export type Address = Message['to'][number];
/** What a new message or a draft's change sends as addresses: no names. */
export type AddressRef = NonNullable<RequestBody<'/api/messages', 'post'>['to']>[number];
export type NewMessage = RequestBody<'/api/messages', 'post'>;
/** One line of a folder's list or of a search (GET /api/messages, /api/messages/search). */
export type MessageItem = ItemOf<Answer<'/api/messages'>>;
/** A folder with its counts: the server always writes total and unread. */
export type MessageFolder = Sure<ItemOf<Answer<'/api/messages/folders'>>, 'total' | 'unread'>;
/** A proposed recipient (GET /api/messages/recipients). */
export type Recipient = ItemOf<Answer<'/api/messages/recipients'>>;
/** Who read and who confirmed (the sender's): every field written. */
export type Receipts = Filled<Answer<'/api/messages/{id}/receipts'>>;
export type Receipt = Receipts['items'][number];
export type RecallResult = Answer<'/api/messages/{id}/recall', 'post'>;
export type MessageThread = Answer<'/api/messages/threads/{id}'>;

// --- support -------------------------------------------------------------------------------------

/** A support ticket: the server writes the labels, the assignee (or null) and the rating (or null). */
export type Ticket = Sure<
  Answer<'/api/support/tickets/{id}'>,
  'category_label' | 'priority_label' | 'state_label' | 'assignee' | 'rating' | 'first_response_at' | 'resolved_at' | 'closed_at' | 'evaluation_id' | 'grade'
>;
export type TicketState = Ticket['state'];
export type TicketCategory = Ticket['category'];
export type TicketPriority = Ticket['priority'];
export type TicketComment = ItemOf<Answer<'/api/support/tickets/{id}/comments'>>;
export type TicketChange = ItemOf<Answer<'/api/support/tickets/{id}/history'>>;
export type ContestedGrade = Answer<'/api/support/tickets/{id}/grade'>;
export type NewTicket = RequestBody<'/api/support/tickets', 'post'>;
export type TicketPatch = RequestBody<'/api/support/tickets/{id}', 'patch'>;
/** A file attached to a ticket (comment_id: the answer it came with, null for the ticket itself). */
export type TicketAttachment = Sure<ItemOf<Answer<'/api/support/tickets/{id}/attachments'>>, 'comment_id'>;
/** Someone a ticket may be assigned to (GET .../assignees). */
export type Assignable = ItemOf<Answer<'/api/support/tickets/{id}/assignees'>>;
/** A FAQ article: the server writes every field. */
export type FaqArticle = Sure<Answer<'/api/support/faq/{id}'>, 'category_label' | 'helpful_count' | 'created_at' | 'updated_at'>;
export type FaqInput = RequestBody<'/api/support/faq', 'post'>;
/** The admins' dashboard (GET /api/support/dashboard). */
export type SupportDashboard = Answer<'/api/support/dashboard'>;

// --- chatbot (the assistant) ---------------------------------------------------------------------

/** A question and its answer as the history holds it (GET /chatbot/history): every field written. */
export type ChatInteraction = Filled<ItemOf<Answer<'/chatbot/history'>>>;
/** A passage an answer cites: its document (material) and page, and the portal's link to it. */
export type ChatSource = ChatInteraction['sources'][number];
/** Where to go when the assistant does not know: described as bare objects by the schema. */
export interface ChatSuggestion {
  label: string;
  link: string;
}
export type ChatAsk = RequestBody<'/chatbot/ask', 'post'>;
