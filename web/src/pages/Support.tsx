// /support: "Mes demandes", a new ticket (with FAQ suggestions as the subject is typed), the staff
// queue with its filters (and the admins' dashboard figures), the FAQ (read by all, written by
// admins); /support/demandes/{id}: a ticket, its conversation (internal notes for staff only),
// its state changes, its attachments, the requester's rating; the page follows the ticket's event
// stream and rereads it when someone else answers or changes it. API: docs/support.md.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, NavLink, useNavigate, useParams } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { ApiError, useApi, type List } from '../lib/api';
import { fmtDate, fmtDateTime, fmtNum, fmtSize } from '../lib/format';
import { openStream } from '../lib/sse';
import type {
  Assignable,
  ContestedGrade,
  FaqArticle,
  FaqInput,
  SupportDashboard,
  Ticket,
  TicketCategory,
  TicketChange,
  TicketComment,
  TicketPatch,
  TicketPriority,
  TicketAttachment,
  TicketState,
  UserInfo,
} from '../lib/types';
import { Alert, Card, Empty, PageTitle, Spinner, TableWrap, otherErrorText } from '../components/ui';
import { FileInput } from '../components/FileInput';

export const CATEGORIES: Record<TicketCategory, string> = {
  account: 'Compte et connexion',
  courses: 'Cours et fichiers',
  grades: 'Notes',
  timetable: 'Emploi du temps',
  messaging: 'Messagerie',
  other: 'Autre',
};
export const PRIORITIES: Record<TicketPriority, string> = { low: 'Basse', normal: 'Normale', high: 'Haute', urgent: 'Urgente' };
export const STATES: Record<TicketState, string> = {
  new: 'Nouveau',
  open: 'En cours',
  waiting: 'En attente du demandeur',
  resolved: 'Résolu',
  closed: 'Clos',
};
const FIELDS: Record<string, string> = {
  subject: 'Objet',
  description: 'Description',
  category: 'Catégorie',
  priority: 'Priorité',
  state: 'État',
  assignee_id: 'Personne assignée',
  body: 'Message',
  internal: 'Note interne',
  rating: 'Note',
  comment: 'Commentaire',
  title: 'Titre',
  published: 'Publication',
  grade: 'Note contestée',
  created: 'Création',
  value: 'Nouvelle note',
  reason: 'Motif',
  file_ids: 'Pièces jointes',
  attachment: 'Pièce jointe',
};

/** An error of the support in French: the server's detail, and the fields it names. */
function supportError(e: unknown): string {
  if (!(e instanceof ApiError)) return otherErrorText(e);
  const errors = Object.entries(e.problem.errors ?? {});
  if (!errors.length) return e.message;
  const parts = errors.map(([k, v]) => {
    const name = FIELDS[k] ?? k;
    return /^(is |must |should |expected |unknown |not )/i.test(v) ? `${name} : valeur invalide` : `${name} : ${v}`;
  });
  return `${e.status === 400 ? 'Vérifiez le formulaire.' : e.message} ${parts.join(' ; ')}.`;
}

function stateTag(t: Ticket) {
  const color = t.state === 'resolved' || t.state === 'closed' ? 'tag-green' : t.state === 'waiting' ? 'tag-amber' : '';
  return <span className={`tag tag-state ${color}`}>{t.state_label ?? STATES[t.state]}</span>;
}

function SupportTabs({ section }: { section: string }) {
  const { hasRole } = useAuth();
  const tabs: [string, string][] = [
    ['', 'Mes demandes'],
    ['nouvelle', 'Nouvelle demande'],
    ...(hasRole('admin', 'enseignant') ? ([['file', "File d'attente"]] as [string, string][]) : []),
    ['faq', 'FAQ'],
  ];
  return (
    <nav className="tabs tabs-wrap" aria-label="Sections de l'assistance">
      {tabs.map(([s, label]) => (
        <NavLink key={s} to={s ? `/support/${s}` : '/support'} end className={() => (section === s ? 'active' : '')} aria-current={section === s ? 'page' : undefined}>
          {label}
        </NavLink>
      ))}
    </nav>
  );
}

export function SupportPage() {
  const { section = '' } = useParams();
  const titles: Record<string, string> = { '': 'Assistance', nouvelle: 'Nouvelle demande', file: "File d'attente", faq: 'Foire aux questions' };
  return (
    <>
      <PageTitle title={titles[section] ?? 'Assistance'} />
      <SupportTabs section={section} />
      {section === '' && <MyTickets />}
      {section === 'nouvelle' && <NewTicket />}
      {section === 'file' && <Queue />}
      {section === 'faq' && <Faq />}
      {!(section in titles) && <Empty>Cette section n'existe pas.</Empty>}
    </>
  );
}

function TicketTable({ items, staff }: { items: Ticket[]; staff: boolean }) {
  return (
    <TableWrap label="Demandes">
      <table className="table tickets">
        <thead>
          <tr>
            <th scope="col">Objet</th>
            {staff && <th scope="col" className="hide-sm">Demandeur</th>}
            <th scope="col" className="hide-sm">Catégorie</th>
            <th scope="col" className="hide-sm">Priorité</th>
            <th scope="col">État</th>
            {staff && <th scope="col" className="hide-sm">Assignée à</th>}
            <th scope="col" className="hide-sm">Ouverte le</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.id}>
              <th scope="row">
                <Link to={`/support/demandes/${t.id}`}>{t.subject}</Link>
                {t.grade && <span className="small muted block">Note contestée : {t.grade.text}</span>}
                {t.overdue && (
                  <>
                    {' '}
                    <span className="tag tag-red">En retard</span>
                  </>
                )}
              </th>
              {staff && <td className="hide-sm">{t.requester?.name ?? '—'}</td>}
              <td className="hide-sm">{t.category_label}</td>
              <td className="hide-sm">{t.priority_label}</td>
              <td>{stateTag(t)}</td>
              {staff && <td className="hide-sm">{t.assignee?.name ?? 'Personne'}</td>}
              <td className="hide-sm nowrap">{fmtDateTime(t.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function MyTickets() {
  const { api } = useApi();
  const [items, setItems] = useState<Ticket[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    async (cursor?: string) => {
      try {
        const p = new URLSearchParams({ mine: 'true', limit: '30' });
        if (cursor) p.set('cursor', cursor);
        const r = await api<List<Ticket>>(`/api/support/tickets?${p}`);
        setItems((old) => (cursor && old ? [...old, ...r.items] : r.items));
        setNext(r.next_cursor ?? null);
      } catch (e) {
        setError(supportError(e));
        setItems([]);
      }
    },
    [api],
  );
  useEffect(() => {
    load();
  }, [load]);
  return (
    <Card title="Mes demandes" actions={<Link className="button button-primary" to="/support/nouvelle">Nouvelle demande</Link>}>
      {error && <Alert>{error}</Alert>}
      {items === null ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty>
          Vous n'avez ouvert aucune demande. Une question ? Consultez d'abord la <Link to="/support/faq">FAQ</Link>.
        </Empty>
      ) : (
        <TicketTable items={items} staff={false} />
      )}
      {next && (
        <button type="button" className="button button-small" onClick={() => load(next)}>
          Afficher plus
        </button>
      )}
    </Card>
  );
}

/** A FAQ article as a disclosure, with "Cela a répondu à ma question". */
function FaqItem({ a, open = false, onHelpful, children }: { a: FaqArticle; open?: boolean; onHelpful?: (a: FaqArticle) => void; children?: ReactNode }) {
  const { api } = useApi();
  const [voted, setVoted] = useState(false);
  const [count, setCount] = useState(a.helpful_count);
  const [error, setError] = useState<string | null>(null);
  return (
    <details className="faq-item" open={open}>
      <summary>
        {a.title}
        {!a.published && <span className="tag tag-amber"> Brouillon</span>}
      </summary>
      <div className="faq-body">
        <p className="muted small">{a.category_label}</p>
        <div className="pre">{a.body}</div>
        {error && <Alert>{error}</Alert>}
        <div className="form-actions">
          {a.published &&
            (voted ? (
              <span className="tag tag-green" role="status">
                Merci ! {count} personne{count > 1 ? 's ont' : ' a'} trouvé cet article utile.
              </span>
            ) : (
              <button
                type="button"
                className="button button-small"
                onClick={async () => {
                  try {
                    const r = await api<{ helpful_count: number }>(`/api/support/faq/${a.id}/helpful`, { method: 'POST' });
                    setCount(r.helpful_count);
                    setVoted(true);
                    onHelpful?.(a);
                  } catch (e) {
                    setError(supportError(e));
                  }
                }}
              >
                Cela a répondu à ma question<span className="visually-hidden"> : {a.title}</span>
              </button>
            ))}
          {children}
        </div>
      </div>
    </details>
  );
}

function NewTicket() {
  const { api } = useApi();
  const navigate = useNavigate();
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [category, setCategory] = useState<TicketCategory | ''>('');
  const [priority, setPriority] = useState<TicketPriority>('normal');
  const [suggestions, setSuggestions] = useState<FaqArticle[]>([]);
  const [answered, setAnswered] = useState<FaqArticle | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // FAQ suggestions for the subject as it is typed (debounced; the last answer wins).
  useEffect(() => {
    const q = subject.trim();
    if (q.length < 3) {
      setSuggestions([]);
      return;
    }
    let current = true;
    const t = setTimeout(() => {
      api<{ items: FaqArticle[] }>(`/api/support/faq/suggest?q=${encodeURIComponent(q)}`)
        .then((r) => current && setSuggestions(r.items))
        .catch(() => current && setSuggestions([]));
    }, 350);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [subject, api]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!subject.trim() || !description.trim() || !category) {
      setError('Indiquez un objet, une catégorie et une description.');
      return;
    }
    setBusy(true);
    try {
      const t = await api<Ticket>('/api/support/tickets', { method: 'POST', json: { subject: subject.trim(), description, category, priority } });
      navigate(`/support/demandes/${t.id}`, { state: { created: true } });
    } catch (err) {
      setError(supportError(err));
      setBusy(false);
    }
  };

  return (
    <div className="grid-2 grid-wide-first">
      <Card title="Décrire votre demande">
        <form className="form" onSubmit={submit} noValidate>
          {error && <Alert>{error}</Alert>}
          <div className="field">
            <label htmlFor="t-subject">Objet</label>
            <input
              id="t-subject"
              maxLength={200}
              required
              value={subject}
              onChange={(e) => setSubject(e.target.value)}
              aria-describedby="t-subject-hint"
              autoComplete="off"
            />
            <span id="t-subject-hint" className="muted small">
              En quelques mots : des articles de la FAQ vous sont proposés pendant que vous écrivez.
            </span>
          </div>
          <div className="form-row">
            <div className="field">
              <label htmlFor="t-category">Catégorie</label>
              <select id="t-category" required value={category} onChange={(e) => setCategory(e.target.value as TicketCategory)}>
                <option value="">Choisir…</option>
                {Object.entries(CATEGORIES).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="t-priority">Priorité</label>
              <select id="t-priority" value={priority} onChange={(e) => setPriority(e.target.value as TicketPriority)}>
                {Object.entries(PRIORITIES).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <div className="field">
            <label htmlFor="t-description">Description</label>
            <textarea id="t-description" rows={7} maxLength={10000} required value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <div className="form-actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              Envoyer la demande
            </button>
            <Link to="/support" className="button button-ghost">
              Annuler
            </Link>
          </div>
        </form>
      </Card>
      <section className="card faq-suggest" aria-labelledby="faq-suggest-title" aria-live="polite">
        <h2 id="faq-suggest-title">Ces articles peuvent vous aider</h2>
        {answered ? (
          <Alert kind="success">
            Tant mieux ! « {answered.title} » a répondu à votre question : vous n'avez pas besoin d'envoyer de demande.{' '}
            <Link to="/support">Retour à mes demandes</Link>
          </Alert>
        ) : null}
        {suggestions.length === 0 ? (
          <p className="muted small">{subject.trim().length < 3 ? "Commencez à écrire l'objet de votre demande." : 'Aucun article ne correspond pour le moment.'}</p>
        ) : (
          <div data-testid="faq-suggestions">
            <p className="small">
              {suggestions.length} article{suggestions.length > 1 ? 's' : ''} de la FAQ correspond{suggestions.length > 1 ? 'ent' : ''} à votre objet.
            </p>
            {suggestions.map((a) => (
              <FaqItem key={a.id} a={a} onHelpful={setAnswered} />
            ))}
          </div>
        )}
      </section>
    </div>
  );
}

function minutes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 60) return `${Math.round(n)} min`;
  const h = Math.floor(n / 60);
  const m = Math.round(n % 60);
  if (h < 48) return m ? `${h} h ${String(m).padStart(2, '0')}` : `${h} h`;
  return `${fmtNum(n / 1440)} j`;
}

function Dashboard() {
  const { api } = useApi();
  const [d, setD] = useState<SupportDashboard | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<SupportDashboard>('/api/support/dashboard?period=week')
      .then(setD)
      .catch((e) => setError(supportError(e)));
  }, [api]);
  if (error) return <Alert>{error}</Alert>;
  if (!d) return <Spinner />;
  const byState = (d.by_state ?? {}) as Record<string, number>;
  return (
    <Card title="Indicateurs des 30 derniers jours" className="support-dashboard">
      <ul className="figures">
        <li>
          <span className="figure">{d.opened}</span>
          <span className="figure-label">demandes ouvertes</span>
        </li>
        <li>
          <span className="figure">{minutes(d.median_first_response_minutes)}</span>
          <span className="figure-label">délai médian de première réponse</span>
        </li>
        <li className={d.overdue > 0 ? 'figure-alert' : ''}>
          <span className="figure">{d.overdue}</span>
          <span className="figure-label">en retard actuellement</span>
        </li>
        <li>
          <span className="figure">{d.satisfaction?.mean != null ? `${fmtNum(d.satisfaction.mean)} / 5` : '—'}</span>
          <span className="figure-label">
            satisfaction ({d.satisfaction?.count ?? 0} avis)
          </span>
        </li>
        <li>
          <span className="figure">{d.faq_helpful?.period ?? 0}</span>
          <span className="figure-label">réponses trouvées dans la FAQ ({d.faq_helpful?.total ?? 0} en tout)</span>
        </li>
      </ul>
      <p className="small muted">
        Par état aujourd'hui : {(Object.keys(STATES) as TicketState[]).map((s) => `${STATES[s]} ${byState[s] ?? 0}`).join(' · ')}
      </p>
    </Card>
  );
}

function Queue() {
  const { api, download, listAll } = useApi();
  const { hasRole, session } = useAuth();
  const admin = hasRole('admin');
  const [state, setState] = useState('active');
  const [category, setCategory] = useState('');
  const [priority, setPriority] = useState('');
  const [assignee, setAssignee] = useState('');
  const [overdue, setOverdue] = useState(false);
  const [q, setQ] = useState('');
  const [admins, setAdmins] = useState<UserInfo[]>([]);
  const [items, setItems] = useState<Ticket[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (admin) listAll<UserInfo>('/api/users?role=admin').then(setAdmins).catch(() => setAdmins([]));
  }, [admin, listAll]);

  const filters = useCallback(() => {
    const p = new URLSearchParams();
    if (state && state !== 'active') p.set('state', state);
    if (category) p.set('category', category);
    if (priority) p.set('priority', priority);
    if (assignee) p.set('assignee_id', assignee === 'me' ? session?.id ?? '' : assignee);
    if (overdue) p.set('overdue', 'true');
    if (q.trim()) p.set('q', q.trim());
    return p;
  }, [state, category, priority, assignee, overdue, q, session?.id]);

  const load = useCallback(
    async (cursor?: string) => {
      try {
        const p = filters();
        p.set('limit', '50');
        if (cursor) p.set('cursor', cursor);
        const r = await api<List<Ticket>>(`/api/support/tickets?${p}`);
        // "À traiter": the API filters one state at a time; the closed and resolved are left out here.
        const shown = state === 'active' ? r.items.filter((t) => t.state !== 'closed' && t.state !== 'resolved') : r.items;
        setItems((old) => (cursor && old ? [...old, ...shown] : shown));
        setNext(r.next_cursor ?? null);
        setError(null);
      } catch (e) {
        setError(supportError(e));
        setItems([]);
      }
    },
    [api, filters, state],
  );
  useEffect(() => {
    const t = setTimeout(() => load(), 250);
    return () => clearTimeout(t);
  }, [load]);

  return (
    <>
      {admin && <Dashboard />}
      <Card
        title="Demandes"
        actions={
          admin ? (
            <button
              type="button"
              className="button button-small"
              onClick={() => {
                const p = filters();
                download(`/api/support/tickets.csv?${p}`, 'demandes.csv').catch((e) => setError(supportError(e)));
              }}
            >
              Exporter (CSV)
            </button>
          ) : undefined
        }
      >
        <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filtres de la file d'attente">
          <div className="field">
            <label htmlFor="f-state">État</label>
            <select id="f-state" value={state} onChange={(e) => setState(e.target.value)}>
              <option value="active">À traiter</option>
              <option value="">Tous les états</option>
              {Object.entries(STATES).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-category">Catégorie</label>
            <select id="f-category" value={category} onChange={(e) => setCategory(e.target.value)}>
              <option value="">Toutes</option>
              {Object.entries(CATEGORIES).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-priority">Priorité</label>
            <select id="f-priority" value={priority} onChange={(e) => setPriority(e.target.value)}>
              <option value="">Toutes</option>
              {Object.entries(PRIORITIES).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-assignee">Assignée à</label>
            <select id="f-assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
              <option value="">Tout le monde</option>
              <option value="me">Moi</option>
              <option value="none">Personne</option>
              {admins
                .filter((u) => u.id !== session?.id)
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name}
                  </option>
                ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-q">Rechercher</label>
            <input id="f-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
          </div>
          <label className="check filters-check">
            <input type="checkbox" checked={overdue} onChange={(e) => setOverdue(e.target.checked)} />
            En retard seulement
          </label>
        </form>
        {error && <Alert>{error}</Alert>}
        {items === null ? <Spinner /> : items.length === 0 ? <Empty>Aucune demande avec ces filtres.</Empty> : <TicketTable items={items} staff />}
        {next && (
          <button type="button" className="button button-small" onClick={() => load(next)}>
            Afficher plus
          </button>
        )}
      </Card>
    </>
  );
}

function FaqEditor({ article, onDone, onCancel }: { article?: FaqArticle; onDone: (a: FaqArticle) => void; onCancel: () => void }) {
  const { api } = useApi();
  const id = useId();
  const [title, setTitle] = useState(article?.title ?? '');
  const [body, setBody] = useState(article?.body ?? '');
  const [category, setCategory] = useState<TicketCategory>(article?.category ?? 'account');
  const [published, setPublished] = useState(article?.published ?? true);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const json: FaqInput = { title: title.trim(), body, category, published };
    try {
      const a = article
        ? await api<FaqArticle>(`/api/support/faq/${article.id}`, { method: 'PATCH', json })
        : await api<FaqArticle>('/api/support/faq', { method: 'POST', json });
      onDone(a);
    } catch (err) {
      setError(supportError(err));
    }
  };
  return (
    <form className="form faq-editor" onSubmit={submit}>
      {error && <Alert>{error}</Alert>}
      <div className="form-row">
        <div className="field">
          <label htmlFor={`${id}-title`}>Titre</label>
          <input id={`${id}-title`} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-cat`}>Catégorie</label>
          <select id={`${id}-cat`} value={category} onChange={(e) => setCategory(e.target.value as TicketCategory)}>
            {Object.entries(CATEGORIES).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${id}-body`}>Réponse</label>
        <textarea id={`${id}-body`} required rows={6} maxLength={20000} value={body} onChange={(e) => setBody(e.target.value)} />
      </div>
      <label className="check">
        <input type="checkbox" checked={published} onChange={(e) => setPublished(e.target.checked)} />
        Publié (visible par tous)
      </label>
      <div className="form-actions">
        <button type="submit" className="button button-primary">
          {article ? 'Enregistrer' : "Créer l'article"}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}

function Faq() {
  const { api, listAll } = useApi();
  const { hasRole } = useAuth();
  const admin = hasRole('admin');
  const [q, setQ] = useState('');
  const [category, setCategory] = useState('');
  const [items, setItems] = useState<FaqArticle[] | null>(null);
  const [drafts, setDrafts] = useState<FaqArticle[]>([]);
  const [editing, setEditing] = useState<FaqArticle | 'new' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const p = new URLSearchParams();
      if (q.trim()) p.set('q', q.trim());
      if (category) p.set('category', category);
      const path = `/api/support/faq${p.size ? `?${p}` : ''}`;
      setItems(q.trim() ? (await api<List<FaqArticle>>(path)).items : await listAll<FaqArticle>(path));
      if (admin) {
        p.set('published', 'false');
        setDrafts((await api<List<FaqArticle>>(`/api/support/faq?${p}`)).items);
      }
    } catch (e) {
      setError(supportError(e));
      setItems([]);
    }
  }, [api, listAll, q, category, admin]);
  useEffect(() => {
    const t = setTimeout(load, 250);
    return () => clearTimeout(t);
  }, [load]);

  const remove = async (a: FaqArticle) => {
    if (!window.confirm(`Supprimer l'article « ${a.title} » ?`)) return;
    try {
      await api(`/api/support/faq/${a.id}`, { method: 'DELETE' });
      setStatus(`Article « ${a.title} » supprimé.`);
      load();
    } catch (e) {
      setError(supportError(e));
    }
  };
  const togglePublished = async (a: FaqArticle) => {
    try {
      await api(`/api/support/faq/${a.id}`, { method: 'PATCH', json: { published: !a.published } });
      setStatus(a.published ? `Article « ${a.title} » retiré (brouillon).` : `Article « ${a.title} » publié.`);
      load();
    } catch (e) {
      setError(supportError(e));
    }
  };

  const all = [...drafts, ...(items ?? [])];
  const adminActions = (a: FaqArticle) =>
    admin && (
      <>
        <button type="button" className="button button-small" onClick={() => setEditing(a)}>
          Modifier<span className="visually-hidden"> : {a.title}</span>
        </button>
        <button type="button" className="button button-small" onClick={() => togglePublished(a)}>
          {a.published ? 'Dépublier' : 'Publier'}
          <span className="visually-hidden"> : {a.title}</span>
        </button>
        <button type="button" className="button button-small button-danger" onClick={() => remove(a)}>
          Supprimer<span className="visually-hidden"> : {a.title}</span>
        </button>
      </>
    );

  return (
    <>
      <p className="muted">Les réponses aux questions les plus fréquentes. Vous n'y trouvez pas la vôtre ? <Link to="/support/nouvelle">Ouvrez une demande</Link>.</p>
      {status && <Alert kind="success">{status}</Alert>}
      {admin &&
        (editing === 'new' ? (
          <Card title="Nouvel article">
            <FaqEditor
              onDone={(a) => {
                setEditing(null);
                setStatus(`Article « ${a.title} » créé.`);
                load();
              }}
              onCancel={() => setEditing(null)}
            />
          </Card>
        ) : (
          <p>
            <button type="button" className="button button-primary" onClick={() => setEditing('new')}>
              Nouvel article
            </button>
          </p>
        ))}
      <div className="toolbar">
        <div className="field">
          <label htmlFor="faq-q">Rechercher dans la FAQ</label>
          <input id="faq-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="faq-cat">Catégorie</label>
          <select id="faq-cat" value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">Toutes</option>
            {Object.entries(CATEGORIES).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
      <Card>
        {items === null ? (
          <Spinner />
        ) : all.length === 0 ? (
          <Empty>{q ? 'Aucun article ne correspond à cette recherche.' : 'Aucun article pour le moment.'}</Empty>
        ) : (
          all.map((a) =>
            editing !== 'new' && editing?.id === a.id ? (
              <div key={a.id} className="faq-item">
                <h3>Modifier « {a.title} »</h3>
                <FaqEditor
                  article={a}
                  onDone={(x) => {
                    setEditing(null);
                    setStatus(`Article « ${x.title} » enregistré.`);
                    load();
                  }}
                  onCancel={() => setEditing(null)}
                />
              </div>
            ) : (
              <FaqItem key={a.id} a={a}>
                {adminActions(a)}
              </FaqItem>
            ),
          )
        )}
      </Card>
    </>
  );
}

// ---- one ticket ---------------------------------------------------------------------------------

/** The state changes staff may make from each state (docs/support.md). */
const STAFF_MOVES: Record<TicketState, [TicketState, string][]> = {
  new: [
    ['open', 'Prendre en charge'],
    ['closed', 'Clore (pas une demande)'],
  ],
  open: [
    ['waiting', 'Mettre en attente du demandeur'],
    ['resolved', 'Marquer comme résolue'],
  ],
  waiting: [
    ['open', 'Reprendre'],
    ['resolved', 'Marquer comme résolue'],
  ],
  resolved: [
    ['open', 'Rouvrir'],
    ['closed', 'Clore'],
  ],
  closed: [],
};

export function SupportTicketPage() {
  const { id = '' } = useParams();
  const { api } = useApi();
  const { session, hasRole } = useAuth();
  const [t, setT] = useState<Ticket | null>(null);
  const [comments, setComments] = useState<TicketComment[]>([]);
  const [history, setHistory] = useState<TicketChange[] | null>(null);
  const [files, setFiles] = useState<TicketAttachment[]>([]);
  const [assignables, setAssignables] = useState<Assignable[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [body, setBody] = useState('');
  const [internal, setInternal] = useState(false);
  const [busy, setBusy] = useState(false);
  const admin = hasRole('admin');

  const load = useCallback(async () => {
    try {
      const [ticket, c, f] = await Promise.all([
        api<Ticket>(`/api/support/tickets/${id}`),
        api<List<TicketComment>>(`/api/support/tickets/${id}/comments?limit=100`),
        api<{ items: TicketAttachment[] }>(`/api/support/tickets/${id}/attachments`),
      ]);
      setT(ticket);
      setComments(c.items);
      setFiles(f.items);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? "Cette demande n'existe pas ou vous n'y avez pas accès." : supportError(e));
    }
  }, [api, id]);
  useEffect(() => {
    load();
  }, [load]);
  // Who the ticket may go to depends on its category (and, for a contestation, its course).
  const category = t?.category;
  useEffect(() => {
    if (admin && category)
      api<{ items: Assignable[] }>(`/api/support/tickets/${id}/assignees`)
        .then((r) => setAssignables(r.items))
        .catch(() => setAssignables([]));
  }, [admin, api, id, category]);
  // Live: someone else's answer, note or change rereads the ticket (and its history when shown).
  const historyShown = useRef(false);
  historyShown.current = history !== null;
  const reload = useRef<() => void>(() => {});
  useEffect(() => {
    const stop = openStream(`/api/support/tickets/${id}/stream`, {
      onState: (up) => {
        setLive(up);
        if (up) reload.current(); // caught up after a reconnection
      },
      onEvent: (e) => {
        if (e.event === 'update') reload.current();
        else if (e.event === 'gone') setError("Cette demande ne vous est plus confiée : vous n'y avez plus accès.");
      },
    });
    return stop;
  }, [id]);

  const [grade, setGrade] = useState<ContestedGrade | null>(null);
  const evaluationId = t?.evaluation_id;
  const loadGrade = useCallback(() => {
    if (!evaluationId) return;
    api<ContestedGrade>(`/api/support/tickets/${id}/grade`)
      .then(setGrade)
      .catch(() => setGrade(null));
  }, [api, id, evaluationId]);
  useEffect(loadGrade, [loadGrade]);

  reload.current = () => {
    load();
    if (historyShown.current) loadHistory();
  };

  const requester = !!t && t.requester?.id === session?.id;
  const staff = !!t && (admin || (hasRole('enseignant') && t.assignee?.id === session?.id));

  const patch = async (json: TicketPatch, text: string) => {
    setError(null);
    try {
      setT(await api<Ticket>(`/api/support/tickets/${id}`, { method: 'PATCH', json }));
      setStatus(text);
      if (history) loadHistory();
    } catch (e) {
      setError(supportError(e));
    }
  };
  const loadHistory = () =>
    api<List<TicketChange>>(`/api/support/tickets/${id}/history?limit=100`)
      .then((h) => setHistory(h.items))
      .catch((e) => setError(supportError(e)));

  const [pending, setPending] = useState<Uploaded[]>([]);
  const sendComment = async (e: FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    try {
      const file_ids = pending.length ? pending.map((f) => f.id) : undefined;
      await api(`/api/support/tickets/${id}/comments`, { method: 'POST', json: staff ? { body, internal, file_ids } : { body, file_ids } });
      setStatus(internal ? 'Note interne ajoutée.' : 'Réponse envoyée.');
      setBody('');
      setInternal(false);
      setPending([]);
      await load();
    } catch (err) {
      setError(supportError(err));
    } finally {
      setBusy(false);
    }
  };

  if (!t)
    return (
      <>
        <PageTitle title="Demande d'assistance" />
        <p className="breadcrumb">
          <Link to="/support">Assistance</Link>
        </p>
        {error ? <Alert>{error}</Alert> : <Spinner />}
      </>
    );

  const fieldLabel = (f: string) => FIELDS[f] ?? f;
  const valueLabel = (f: string, v: string | null | undefined) => {
    if (v === null || v === undefined || v === '') return '—';
    if (f === 'state' || f === 'created') return STATES[v as TicketState] ?? v;
    if (f === 'priority') return PRIORITIES[v as TicketPriority] ?? v;
    if (f === 'category') return CATEGORIES[v as TicketCategory] ?? v;
    if (f === 'assignee_id') return assignables.find((a) => a.id === v)?.name ?? (t.assignee?.id === v ? t.assignee.name : null) ?? 'une autre personne';
    return v;
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to={staff ? '/support/file' : '/support'}>{staff ? "File d'attente" : 'Mes demandes'}</Link>
      </p>
      <PageTitle title={t.subject} />
      <p className="muted small live-state">{live ? 'Mise à jour en direct' : 'Mise à jour en direct interrompue : rechargez la page pour voir les nouveautés.'}</p>
      <p className="visually-hidden" role="status">
        {status}
      </p>
      {error && <Alert>{error}</Alert>}
      <div className="grid-2 grid-wide-first ticket">
        <div>
          <Card title="Conversation">
            <ol className="conversation">
              <li className="bubble bubble-requester">
                <p className="bubble-head">
                  <strong>{t.requester?.name ?? 'Demandeur'}</strong> <span className="muted small">— {fmtDateTime(t.created_at)}</span>
                </p>
                <div className="pre">{t.description}</div>
              </li>
              {comments.map((c) => (
                <li key={c.id} className={`bubble ${c.internal ? 'bubble-internal' : c.author?.id === t.requester?.id ? 'bubble-requester' : 'bubble-staff'}`} data-testid={c.internal ? 'internal-note' : 'comment'}>
                  <p className="bubble-head">
                    {c.internal && <span className="tag tag-amber">Note interne</span>} <strong>{c.author?.name ?? 'Auteur effacé'}</strong>{' '}
                    <span className="muted small">— {fmtDateTime(c.created_at)}</span>
                  </p>
                  {c.internal && <p className="small internal-hint">Visible par l'équipe d'assistance uniquement.</p>}
                  <div className="pre">{c.body}</div>
                  <FileList ticketId={id} files={files.filter((f) => f.comment_id === c.id)} label={`Pièces jointes du message de ${c.author?.name ?? 'son auteur'}`} onError={(e) => setError(supportError(e))} />
                </li>
              ))}
            </ol>
            {t.state === 'closed' ? (
              <p className="muted">Cette demande est close : pour une nouvelle question, <Link to="/support/nouvelle">ouvrez une nouvelle demande</Link>.</p>
            ) : (
              <form className="form" onSubmit={sendComment}>
                <div className="field">
                  <label htmlFor="c-body">{internal ? 'Note interne' : staff ? 'Réponse au demandeur' : 'Votre réponse'}</label>
                  <textarea id="c-body" rows={4} maxLength={10000} value={body} onChange={(e) => setBody(e.target.value)} className={internal ? 'internal-input' : ''} />
                  {requester && (t.state === 'resolved' || t.state === 'waiting') && (
                    <span className="muted small">Votre réponse rouvre la demande.</span>
                  )}
                </div>
                <UploadField id="c-files" label={internal ? 'Joindre des fichiers à la note' : 'Joindre des fichiers à la réponse'} files={pending} onChange={setPending} onError={(e) => setError(supportError(e))} />
                {staff && (
                  <label className="check">
                    <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} />
                    Note interne (jamais visible par le demandeur)
                  </label>
                )}
                <div className="form-actions">
                  <button type="submit" className="button button-primary" disabled={busy || !body.trim()}>
                    {internal ? 'Ajouter la note interne' : 'Envoyer la réponse'}
                  </button>
                </div>
              </form>
            )}
          </Card>
          {requester && (t.state === 'resolved' || t.state === 'closed') && <Rating ticket={t} onRated={setT} />}
        </div>
        <div>
          {grade && (
            <ContestedGradeCard
              ticketId={id}
              grade={grade}
              onRevised={(g) => {
                setGrade(g);
                setStatus(`Note révisée : ${g.text}.`);
                load();
                if (history) loadHistory();
              }}
            />
          )}
          <TicketFiles ticketId={id} files={files.filter((f) => !f.comment_id)} closed={t.state === 'closed'} onAttached={setFiles} onError={(e) => setError(supportError(e))} onStatus={setStatus} />
          <Card title="Suivi">
            <dl className="details">
              <dt>État</dt>
              <dd>{stateTag(t)}</dd>
              <dt>Catégorie</dt>
              <dd>{t.category_label}</dd>
              <dt>Priorité</dt>
              <dd>{t.priority_label}</dd>
              <dt>Demandeur</dt>
              <dd>{t.requester?.name ?? '—'}</dd>
              <dt>Assignée à</dt>
              <dd>{t.assignee?.name ?? 'Personne pour le moment'}</dd>
              <dt>Ouverte le</dt>
              <dd>{fmtDateTime(t.created_at)}</dd>
              <dt>Première réponse</dt>
              <dd>
                {t.first_response_at ? fmtDateTime(t.first_response_at) : `attendue avant le ${fmtDateTime(t.first_response_due)}`}
                {t.first_response_overdue && <> <span className="tag tag-red">En retard</span></>}
              </dd>
              <dt>Résolution</dt>
              <dd>
                {t.resolved_at ? fmtDateTime(t.resolved_at) : `attendue avant le ${fmtDateTime(t.resolution_due)}`}
                {t.resolution_overdue && <> <span className="tag tag-red">En retard</span></>}
              </dd>
              {t.rating && (
                <>
                  <dt>Satisfaction</dt>
                  <dd>
                    {t.rating.value} / 5{t.rating.comment ? ` — « ${t.rating.comment} »` : ''}
                  </dd>
                </>
              )}
            </dl>
            {staff && STAFF_MOVES[t.state].length > 0 && (
              <div className="form-actions ticket-moves" role="group" aria-label="Changer l'état">
                {STAFF_MOVES[t.state].map(([s, label]) => (
                  <button key={s} type="button" className="button button-small" onClick={() => patch({ state: s }, `État : ${STATES[s]}.`)}>
                    {label}
                  </button>
                ))}
              </div>
            )}
            {requester && !staff && t.state === 'resolved' && (
              <div className="form-actions">
                <button type="button" className="button button-small" onClick={() => patch({ state: 'closed' }, 'Demande close.')}>
                  Clore ma demande
                </button>
              </div>
            )}
          </Card>
          {admin && t.state !== 'closed' && (
            <Card title="Traitement">
              <div className="form">
                <div className="field">
                  <label htmlFor="tk-priority">Priorité</label>
                  <select id="tk-priority" value={t.priority} onChange={(e) => patch({ priority: e.target.value as TicketPriority }, 'Priorité modifiée.')}>
                    {Object.entries(PRIORITIES).map(([k, v]) => (
                      <option key={k} value={k}>
                        {v}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor="tk-category">Catégorie</label>
                  <select id="tk-category" value={t.category} onChange={(e) => patch({ category: e.target.value as TicketCategory }, 'Catégorie modifiée.')}>
                    {Object.entries(CATEGORIES).map(([k, v]) => (
                      <option key={k} value={k}>
                        {v}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor="tk-assignee">Assignée à</label>
                  <select id="tk-assignee" value={t.assignee?.id ?? ''} onChange={(e) => patch({ assignee_id: e.target.value || null }, 'Personne assignée modifiée.')}>
                    <option value="">Personne</option>
                    {t.assignee && !assignables.some((a) => a.id === t.assignee?.id) && <option value={t.assignee.id}>{t.assignee.name}</option>}
                    {(['admin', 'enseignant'] as const).map((role) => {
                      const group = assignables.filter((a) => a.role === role);
                      return (
                        group.length > 0 && (
                          <optgroup key={role} label={role === 'admin' ? 'Administrateurs' : 'Enseignants'}>
                            {group.map((a) => (
                              <option key={a.id} value={a.id}>
                                {a.name}
                                {a.id === session?.id ? ' (moi)' : ''}
                              </option>
                            ))}
                          </optgroup>
                        )
                      );
                    })}
                  </select>
                  <span className="muted small">
                    {t.evaluation_id ? 'Les administrateurs et les enseignants du cours de la note contestée.' : t.category === 'grades' ? 'Les administrateurs et les enseignants.' : 'Les administrateurs.'}
                  </span>
                </div>
              </div>
            </Card>
          )}
          {staff && (
            <Card title="Historique">
              {history === null ? (
                <button type="button" className="button button-small" onClick={loadHistory}>
                  Afficher l'historique
                </button>
              ) : history.length === 0 ? (
                <Empty>Aucun changement.</Empty>
              ) : (
                <ul className="compact history">
                  {history.map((h) => (
                    <li key={h.id}>
                      <span className="muted small">{fmtDateTime(h.at)}</span> — {h.actor?.name ?? 'Système'} : {fieldLabel(h.field)} {valueLabel(h.field, h.old_value)} → {valueLabel(h.field, h.new_value)}
                    </li>
                  ))}
                </ul>
              )}
            </Card>
          )}
        </div>
      </div>
    </>
  );
}

type Uploaded = { id: string; name: string; size: number };

/** Files uploaded to fichiers, to be attached with an answer (or at once, by the caller): removable. */
function UploadField({ id, label, files, onChange, onError }: { id: string; label: string; files: Uploaded[]; onChange: (f: Uploaded[]) => void; onError: (e: unknown) => void }) {
  const { upload } = useApi();
  const [inputKey, setInputKey] = useState(0);
  const [sending, setSending] = useState<string[]>([]);
  const latest = useRef(files);
  latest.current = files;
  const add = async (list: FileList | null) => {
    const chosen = Array.from(list ?? []);
    setInputKey((k) => k + 1);
    setSending(chosen.map((f) => f.name));
    try {
      const done: Uploaded[] = [];
      for (const file of chosen) {
        const f = await upload<Uploaded>(`/api/fichiers?name=${encodeURIComponent(file.name)}`, file, () => {});
        done.push({ id: f.id, name: f.name, size: f.size });
      }
      onChange([...latest.current, ...done]);
    } catch (e) {
      onError(e);
    } finally {
      setSending([]);
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <FileInput key={inputKey} id={id} multiple onFiles={add} />
      {sending.length > 0 && <span className="muted small">Envoi de {sending.join(', ')}…</span>}
      {files.length > 0 && (
        <ul className="file-list" aria-label="Fichiers à joindre">
          {files.map((f) => (
            <li key={f.id}>
              <span>
                {f.name} <span className="muted small">{fmtSize(f.size)}</span>
              </span>
              <button type="button" className="link-button" onClick={() => onChange(files.filter((x) => x.id !== f.id))}>
                Retirer<span className="visually-hidden"> {f.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Attached files with their download button (nothing when there are none). */
function FileList({ ticketId, files, label, onError }: { ticketId: string; files: TicketAttachment[]; label: string; onError: (e: unknown) => void }) {
  const { download } = useApi();
  if (files.length === 0) return null;
  return (
    <ul className="file-list" aria-label={label}>
      {files.map((f) => (
        <li key={f.file_id}>
          <button type="button" className="link-button" onClick={() => download(`/api/support/tickets/${ticketId}/attachments/${f.file_id}`, f.name).catch(onError)}>
            {f.name}
            <span className="visually-hidden"> (télécharger)</span>
          </button>{' '}
          <span className="muted small">
            {fmtSize(f.size)} — {f.added_by?.name ?? 'Auteur effacé'}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The files attached to the ticket itself, and the control that attaches more. */
function TicketFiles({
  ticketId,
  files,
  closed,
  onAttached,
  onError,
  onStatus,
}: {
  ticketId: string;
  files: TicketAttachment[];
  closed: boolean;
  onAttached: (all: TicketAttachment[]) => void;
  onError: (e: unknown) => void;
  onStatus: (s: string) => void;
}) {
  const { api } = useApi();
  const attach = async (up: Uploaded[]) => {
    if (!up.length) return;
    try {
      const r = await api<{ items: TicketAttachment[] }>(`/api/support/tickets/${ticketId}/attachments`, { method: 'POST', json: { file_ids: up.map((f) => f.id) } });
      onAttached(r.items);
      onStatus(up.length > 1 ? `${up.length} fichiers joints.` : `${up[0].name} joint à la demande.`);
    } catch (e) {
      onError(e);
    }
  };
  return (
    <Card title="Pièces jointes">
      {files.length === 0 ? <Empty>Aucune pièce jointe.</Empty> : <FileList ticketId={ticketId} files={files} label="Pièces jointes de la demande" onError={onError} />}
      {!closed && <UploadField id="tk-files" label="Joindre un fichier (capture d'écran, document)" files={[]} onChange={attach} onError={onError} />}
    </Card>
  );
}

/** The grade a contestation is about; its teacher (or an administrator) revises it here. */
function ContestedGradeCard({ ticketId, grade, onRevised }: { ticketId: string; grade: ContestedGrade; onRevised: (g: ContestedGrade) => void }) {
  const { api } = useApi();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const v = Number(value.replace(',', '.'));
    if (value.trim() === '' || !Number.isFinite(v) || v < 0 || v > grade.scale) {
      setError(`Indiquez une note entre 0 et ${grade.scale}.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onRevised(await api<ContestedGrade>(`/api/support/tickets/${ticketId}/grade`, { method: 'PUT', json: { value: v } }));
      setValue('');
    } catch (err) {
      setError(supportError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Note contestée" className="contested-grade">
      <dl className="details">
        <dt>Évaluation</dt>
        <dd>
          {grade.evaluation_title} <span className="muted small">({grade.course_title}, {fmtDate(grade.date)})</span>
        </dd>
        <dt>Élève</dt>
        <dd>{grade.student?.name ?? '—'}</dd>
        <dt>Note actuelle</dt>
        <dd>
          <strong className="grade-pill" data-testid="contested-grade">{grade.text}</strong>
          {!grade.published && <span className="tag tag-amber"> Non publiée</span>}
        </dd>
      </dl>
      {grade.may_revise && (
        <form className="form revise-form" onSubmit={submit} noValidate>
          {error && <Alert>{error}</Alert>}
          <div className="field">
            <label htmlFor="revise-value">Nouvelle note (sur {grade.scale})</label>
            <input id="revise-value" inputMode="decimal" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} aria-describedby="revise-hint" />
            <span id="revise-hint" className="muted small">
              La modification est enregistrée dans l'historique des notes et l'élève est prévenu.
            </span>
          </div>
          <div className="form-actions">
            <button type="submit" className="button button-primary button-small" disabled={busy}>
              Réviser la note
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}

function Rating({ ticket, onRated }: { ticket: Ticket; onRated: (t: Ticket) => void }) {
  const { api } = useApi();
  const [value, setValue] = useState(0);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (ticket.rating)
    return (
      <Card title="Votre avis">
        <p>
          Vous avez donné la note de <strong>{ticket.rating.value} / 5</strong>
          {ticket.rating.comment ? ` : « ${ticket.rating.comment} »` : ''}. Merci !
        </p>
      </Card>
    );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value) {
      setError('Choisissez une note de 1 à 5.');
      return;
    }
    try {
      onRated(await api<Ticket>(`/api/support/tickets/${ticket.id}/rating`, { method: 'PUT', json: { rating: value, comment: comment.trim() || null } }));
    } catch (err) {
      setError(supportError(err));
    }
  };
  const labels = ['', 'Très insatisfait', 'Insatisfait', 'Correct', 'Satisfait', 'Très satisfait'];
  return (
    <Card title="Votre avis sur la réponse">
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <fieldset className="field">
          <legend>Votre satisfaction, de 1 à 5</legend>
          <div className="stars">
            {[1, 2, 3, 4, 5].map((n) => (
              <label key={n} className={`star ${value >= n ? 'on' : ''}`}>
                <input type="radio" name="rating" value={n} checked={value === n} onChange={() => setValue(n)} className="visually-hidden" />
                <span aria-hidden="true">★</span>
                <span className="visually-hidden">
                  {n} — {labels[n]}
                </span>
              </label>
            ))}
            <span className="small muted" aria-hidden="true">
              {value ? labels[value] : ''}
            </span>
          </div>
        </fieldset>
        <div className="field">
          <label htmlFor="rating-comment">Commentaire (facultatif)</label>
          <textarea id="rating-comment" rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary">
            Envoyer mon avis
          </button>
        </div>
      </form>
    </Card>
  );
}
