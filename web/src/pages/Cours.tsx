import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { apiFetch, problemOf, useApi, type List } from '../lib/api';
import { consulted } from '../lib/i18n';
import { Dialog } from '../components/Dialog';
import { fmtDate, fmtDateTime, fmtSize, subjectLabel } from '../lib/format';
import type { ClassInfo, Cours, FileInfo, Material, MaterialViews } from '../lib/types';
import { Alert, Card, Empty, PageTitle, Spinner, errorText } from '../components/ui';
import { FileInput } from '../components/FileInput';

export function CoursListPage() {
  const { hasRole } = useAuth();
  const { api } = useApi();
  const [q, setQ] = useState('');
  const [items, setItems] = useState<Cours[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const teacher = hasRole('enseignant', 'admin');

  const load = useCallback(async (query: string, cursor?: string) => {
    try {
      const params = new URLSearchParams({ limit: '30' });
      if (query.trim()) params.set('q', query.trim());
      if (cursor) params.set('cursor', cursor);
      const r = await api<List<Cours>>(`/api/cours?${params}`);
      setItems((old) => (cursor && old ? [...old, ...r.items] : r.items));
      setNext(r.next_cursor ?? null);
      setError(null);
    } catch (e) {
      setError(errorText(e));
      setItems([]);
    }
  }, [api]);

  useEffect(() => {
    const t = setTimeout(() => load(q), 250);
    return () => clearTimeout(t);
  }, [q, load]);

  return (
    <>
      <PageTitle title="Cours">
        {teacher && (
          <button type="button" className="button button-primary" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
            Nouveau cours
          </button>
        )}
      </PageTitle>
      {creating && <CreateCours onCancel={() => setCreating(false)} />}
      <div className="toolbar" role="search">
        <label htmlFor="cours-search">Rechercher un cours</label>
        <input id="cours-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Titre, matière…" />
      </div>
      {error && <Alert>{error}</Alert>}
      {items === null ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty>Aucun cours{q ? ' ne correspond à cette recherche' : ''}.</Empty>
      ) : (
        <ul className="cards" aria-label="Liste des cours">
          {items.map((c) => (
            <li key={c.id}>
              <Link to={`/cours/${c.id}`} className="course-card">
                <span className="course-subject">{subjectLabel(c.subject) || 'Cours'}</span>
                <span className="course-title">{c.title}</span>
                {c.description && <span className="course-desc">{c.description}</span>}
                <span className="muted small">Année {c.school_year}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {next && (
        <button type="button" className="button" onClick={() => load(q, next)}>
          Afficher plus de cours
        </button>
      )}
    </>
  );
}

function CreateCours({ onCancel }: { onCancel: () => void }) {
  const navigate = useNavigate();
  const { api, listAll } = useApi();
  const [classes, setClasses] = useState<ClassInfo[]>([]);
  const [title, setTitle] = useState('');
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [classIds, setClassIds] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    listAll<ClassInfo>('/api/users/classes').then(setClasses).catch(() => setClasses([]));
  }, [listAll]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await api<Cours>('/api/cours', {
        method: 'POST',
        json: { title, subject: subject || null, description: description || null, class_ids: classIds },
      });
      navigate(`/cours/${c.id}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Nouveau cours">
      <form onSubmit={submit} className="form">
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor="nc-title">Titre</label>
            <input id="nc-title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="nc-subject">Matière</label>
            <input id="nc-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
          </div>
        </div>
        <div className="field">
          <label htmlFor="nc-desc">Description</label>
          <textarea id="nc-desc" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <fieldset className="field">
          <legend>Classes</legend>
          <div className="checks">
            {classes.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  checked={classIds.includes(c.id)}
                  onChange={(e) => setClassIds((old) => (e.target.checked ? [...old, c.id] : old.filter((x) => x !== c.id)))}
                />
                {c.name}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            Créer le cours
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Annuler
          </button>
        </div>
      </form>
    </Card>
  );
}

export function CoursDetailPage() {
  const { id = '' } = useParams();
  const { session, hasRole } = useAuth();
  const { api, download } = useApi();
  const [cours, setCours] = useState<Cours | null>(null);
  const [materials, setMaterials] = useState<Material[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [views, setViews] = useState<{ id: string; data: MaterialViews } | null>(null);
  // ?support=<id> (the dashboard's links to a recent material) opens that material.
  const [params, setParams] = useSearchParams();
  const viewing = materials?.find((m) => m.id === params.get('support')) ?? null;
  const openViewer = (m: Material) => setParams({ support: m.id });
  const closeViewer = () => setParams({}, { replace: true });

  const load = useCallback(async () => {
    try {
      const [c, m] = await Promise.all([api<Cours>(`/api/cours/${id}`), api<List<Material>>(`/api/cours/${id}/materials`)]);
      setCours(c);
      setMaterials(m.items);
    } catch (e) {
      setError(errorText(e));
    }
  }, [id, api]);
  useEffect(() => {
    load();
  }, [load]);

  const canEdit = !!cours && (hasRole('admin') || (hasRole('enseignant') && !!session && cours.teacher_ids.includes(session.id)));

  const move = async (index: number, delta: number) => {
    if (!materials) return;
    const order = materials.map((m) => m.id);
    const j = index + delta;
    if (j < 0 || j >= order.length) return;
    [order[index], order[j]] = [order[j], order[index]];
    try {
      const r = await api<List<Material>>(`/api/cours/${id}/materials/order`, { method: 'PUT', json: { ids: order } });
      setMaterials(r.items);
      setStatus(`« ${materials[index].title} » déplacé.`);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const showViews = async (m: Material) => {
    if (views?.id === m.id) {
      setViews(null);
      return;
    }
    try {
      setViews({ id: m.id, data: await api<MaterialViews>(`/api/cours/${id}/materials/${m.id}/views`) });
    } catch (e) {
      setError(errorText(e));
    }
  };

  const remove = async (m: Material) => {
    if (!window.confirm(`Supprimer « ${m.title} » ?`)) return;
    try {
      await api(`/api/cours/${id}/materials/${m.id}`, { method: 'DELETE' });
      setStatus(`« ${m.title} » supprimé.`);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  if (error && !cours) return <><PageTitle title="Cours" /><Alert>{error}</Alert></>;
  if (!cours || !materials) return <Spinner />;

  const sections = new Map<string, { m: Material; index: number }[]>();
  materials.forEach((m, index) => {
    const key = m.section || 'Général';
    if (!sections.has(key)) sections.set(key, []);
    sections.get(key)!.push({ m, index });
  });

  return (
    <>
      {viewing && <MaterialViewer coursId={id} material={viewing} onClose={closeViewer} />}
      <p className="breadcrumb">
        <Link to="/cours">Cours</Link> <span aria-hidden="true">›</span> {cours.title}
      </p>
      <PageTitle title={cours.title} />
      {cours.description && <p className="lead">{cours.description}</p>}
      {error && <Alert>{error}</Alert>}
      <div className="visually-hidden" role="status">{status}</div>
      {canEdit && <UploadMaterial coursId={id} onDone={(t) => { setStatus(`« ${t} » ajouté.`); load(); }} />}
      {materials.length === 0 ? (
        <Card><Empty>Aucun support dans ce cours pour le moment.</Empty></Card>
      ) : (
        [...sections.entries()].map(([section, list]) => (
          <Card key={section} title={section}>
            <ul className="materials">
              {list.map(({ m, index }) => (
                <li key={m.id} className="material">
                  <div className="material-main">
                    <span className="material-title">{m.title}</span>
                    <span className="muted small">
                      {m.file ? `${m.file.name} · ${fmtSize(m.file.size)}` : m.file_id ? 'Document joint' : 'Sans document'}
                      {!m.published && m.publish_at && ` · publié le ${fmtDateTime(m.publish_at)}`}
                      {m.published && ` · ${fmtDate(m.publish_at || m.created_at)}`}
                    </span>
                    {m.description && <span className="small">{m.description}</span>}
                  </div>
                  <div className="material-actions">
                    {m.file_id && openable(m) && (
                      <button type="button" className="button button-primary button-small" onClick={() => openViewer(m)}>
                        Ouvrir<span className="visually-hidden"> {m.title}</span>
                      </button>
                    )}
                    {m.file_id && (
                      <button
                        type="button"
                        className={`button button-small ${openable(m) ? '' : 'button-primary'}`}
                        onClick={() => download(`/api/cours/${id}/materials/${m.id}/file`, m.file?.name || m.title).catch((e) => setError(errorText(e)))}
                      >
                        Télécharger<span className="visually-hidden"> {m.title}</span>
                      </button>
                    )}
                    {canEdit && (
                      <>
                        <button type="button" className="button button-small" onClick={() => move(index, -1)} disabled={index === 0} aria-label={`Monter ${m.title}`}>
                          ↑
                        </button>
                        <button type="button" className="button button-small" onClick={() => move(index, 1)} disabled={index === materials.length - 1} aria-label={`Descendre ${m.title}`}>
                          ↓
                        </button>
                        <button type="button" className="button button-small" onClick={() => showViews(m)} aria-expanded={views?.id === m.id}>
                          Consultations<span className="visually-hidden"> de {m.title}</span>
                        </button>
                        <button type="button" className="button button-small button-danger" onClick={() => remove(m)}>
                          Supprimer<span className="visually-hidden"> {m.title}</span>
                        </button>
                      </>
                    )}
                  </div>
                  {views?.id === m.id && (
                    <div className="views" data-testid="views">
                      <p>
                        {consulted(views.data.viewed_count, views.data.students_total)} ce support.
                      </p>
                      <div className="grid-2">
                        <div>
                          <h3>Ont consulté</h3>
                          <ul className="compact">
                            {views.data.viewed.map((v) => <li key={v.id}>{v.name} <span className="muted">— {fmtDateTime(v.first_at)}</span></li>)}
                          </ul>
                        </div>
                        <div>
                          <h3>Pas encore</h3>
                          <ul className="compact">
                            {views.data.not_viewed.map((v) => <li key={v.id}>{v.name}</li>)}
                          </ul>
                        </div>
                      </div>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          </Card>
        ))
      )}
    </>
  );
}

function UploadMaterial({ coursId, onDone }: { coursId: string; onDone: (title: string) => void }) {
  const { api, upload } = useApi();
  const [title, setTitle] = useState('');
  const [section, setSection] = useState('');
  const [description, setDescription] = useState('');
  const [publishAt, setPublishAt] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileId = useId();
  const [inputKey, setInputKey] = useState(0);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) {
      setError('Choisissez un fichier.');
      return;
    }
    setError(null);
    setProgress(0);
    try {
      const f = await upload<FileInfo>(`/api/fichiers?name=${encodeURIComponent(file.name)}`, file, setProgress);
      const t = title.trim() || file.name.replace(/\.[^.]+$/, '');
      await api(`/api/cours/${coursId}/materials`, {
        method: 'POST',
        json: {
          title: t,
          section: section.trim() || null,
          description: description.trim() || null,
          publish_at: publishAt ? new Date(publishAt).toISOString() : null,
          file_id: f.id,
        },
      });
      setTitle('');
      setSection('');
      setDescription('');
      setPublishAt('');
      setFile(null);
      setInputKey((k) => k + 1);
      onDone(t);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setProgress(null);
    }
  };

  return (
    <Card title="Ajouter un support">
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${fileId}-file`}>Fichier</label>
            <FileInput key={inputKey} id={`${fileId}-file`} chosen={file?.name ?? null} onFiles={(f) => setFile(f?.[0] ?? null)} />
          </div>
          <div className="field">
            <label htmlFor={`${fileId}-title`}>Titre</label>
            <input id={`${fileId}-title`} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} placeholder="Nom du fichier par défaut" />
          </div>
          <div className="field">
            <label htmlFor={`${fileId}-section`}>Section</label>
            <input id={`${fileId}-section`} value={section} maxLength={100} onChange={(e) => setSection(e.target.value)} placeholder="Général" />
          </div>
        </div>
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${fileId}-desc`}>Description (facultative)</label>
            <textarea id={`${fileId}-desc`} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${fileId}-publish`}>Visible par les élèves à partir du (vide : tout de suite)</label>
            <input id={`${fileId}-publish`} type="datetime-local" value={publishAt} onChange={(e) => setPublishAt(e.target.value)} />
          </div>
        </div>
        {progress !== null && (
          <div className="progress-wrap">
            <label htmlFor={`${fileId}-progress`}>Envoi : {Math.round(progress * 100)} %</label>
            <progress id={`${fileId}-progress`} max={100} value={Math.round(progress * 100)} />
          </div>
        )}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={progress !== null}>
            Envoyer
          </button>
        </div>
      </form>
    </Card>
  );
}

/**
 * /cours/{id}/materials/{mid}?page=N: one material, opened at a page (the assistant's citations
 * link here). A PDF is shown in the page at page N (`#page=N` on the file fetched with the token),
 * with a link that opens it in a tab of its own, at the same page; a text document is shown with
 * its pages (form feeds), page N in view; anything else is offered for download.
 */
export function MaterialPage() {
  const { id = '', mid = '' } = useParams();
  const [params] = useSearchParams();
  const { api, apiFetch, download } = useApi();
  const [cours, setCours] = useState<Cours | null>(null);
  const [material, setMaterial] = useState<Material | null>(null);
  const [file, setFile] = useState<{ url: string; type: string; text: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const requested = Number(params.get('page'));
  const page = Number.isInteger(requested) && requested > 0 ? requested : 1;

  useEffect(() => {
    let url: string | null = null;
    (async () => {
      try {
        const [c, m] = await Promise.all([api<Cours>(`/api/cours/${id}`), api<Material>(`/api/cours/${id}/materials/${mid}`)]);
        setCours(c);
        setMaterial(m);
        if (!m.file_id) return;
        const r = await apiFetch(`/api/cours/${id}/materials/${mid}/file`, { headers: { Accept: '*/*' } });
        if (!r.ok) throw await problemOf(r);
        const type = (r.headers.get('Content-Type') || m.file?.content_type || '').split(';')[0].trim().toLowerCase();
        const blob = await r.blob();
        const text = type.startsWith('text/') ? await blob.text() : null;
        url = URL.createObjectURL(type === 'application/pdf' ? new Blob([blob], { type }) : blob);
        setFile({ url, type, text });
      } catch (e) {
        setError(errorText(e));
      }
    })();
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [id, mid, api, apiFetch]);

  // A text document: its page N in view once shown.
  useEffect(() => {
    if (file?.text !== null && file?.text !== undefined && page > 1) document.getElementById(`doc-page-${page}`)?.scrollIntoView({ block: 'start' });
  }, [file, page]);

  if (error && !material) return <><PageTitle title="Document" /><Alert>{error}</Alert></>;
  if (!cours || !material) return <Spinner />;
  const name = material.file?.name || material.title;
  const pages = file?.text != null ? file.text.split('\f') : [];

  return (
    <>
      <p className="breadcrumb">
        <Link to="/cours">Cours</Link> <span aria-hidden="true">›</span> <Link to={`/cours/${id}`}>{cours.title}</Link>{' '}
        <span aria-hidden="true">›</span> {material.title}
      </p>
      <PageTitle title={material.title}>
        {file?.type === 'application/pdf' && (
          <a className="button button-primary" href={`${file.url}#page=${page}`} target="_blank" rel="noopener">
            Ouvrir à la page {page} dans un nouvel onglet
          </a>
        )}
        {material.file_id && (
          <button type="button" className="button" onClick={() => download(`/api/cours/${id}/materials/${mid}/file`, name).catch((e) => setError(errorText(e)))}>
            Télécharger
          </button>
        )}
      </PageTitle>
      {material.description && <p className="lead">{material.description}</p>}
      {error && <Alert>{error}</Alert>}
      {!material.file_id ? (
        <Card><Empty>Ce support n'a pas de document.</Empty></Card>
      ) : !file ? (
        <Spinner label="Ouverture du document…" />
      ) : file.type === 'application/pdf' ? (
        <>
          <p className="muted small">Page {page} de « {name} ».</p>
          <iframe className="doc-frame" title={`${material.title}, page ${page}`} src={`${file.url}#page=${page}`} data-testid="doc-frame" />
        </>
      ) : file.text !== null ? (
        <div className="doc-text" data-testid="doc-text">
          {pages.map((p, i) => (
            <section key={i} id={`doc-page-${i + 1}`} className={`card ${i + 1 === page ? 'doc-page-current' : ''}`} aria-labelledby={`doc-page-${i + 1}-title`}>
              <h2 id={`doc-page-${i + 1}-title`}>
                Page {i + 1}
                {i + 1 === page && <span className="tag">page citée</span>}
              </h2>
              <pre>{p.trim()}</pre>
            </section>
          ))}
        </div>
      ) : (
        <Card><p>Ce document ne s'affiche pas dans le navigateur : téléchargez-le pour l'ouvrir (page {page}).</p></Card>
      )}
    </>
  );
}

/**
 * Whether a material gets "Ouvrir": its file's type is one the browser shows, or is not known
 * yet (the materials list gives the file's id only; the viewer then decides from the type the
 * server answers, and offers the download for anything else).
 */
function openable(m: Material): boolean {
  return !!m.file_id && (!m.file?.content_type || viewable(m.file.content_type));
}

/** Whether the browser shows a file of this type itself: PDF, image, audio, video. */
function viewable(type?: string | null): boolean {
  return !!type && (type === 'application/pdf' || /^(image|audio|video)\//.test(type)) && type !== 'image/svg+xml';
}

/**
 * A material shown in the page: its file fetched with the token and shown from a blob: URL (an
 * <iframe> for a PDF, <img>, <audio>, <video>), with its download beside it.
 */
function MaterialViewer({ coursId, material, onClose }: { coursId: string; material: Material; onClose: () => void }) {
  const { download } = useApi();
  const [url, setUrl] = useState<string | null>(null);
  const [type, setType] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const path = `/api/cours/${coursId}/materials/${material.id}/file`;

  useEffect(() => {
    const ctl = new AbortController();
    let made: string | null = null;
    (async () => {
      try {
        const r = await apiFetch(path, { headers: { Accept: '*/*' }, signal: ctl.signal });
        if (!r.ok) throw await problemOf(r);
        const blob = await r.blob();
        made = URL.createObjectURL(blob);
        setType(blob.type || material.file?.content_type || '');
        setUrl(made);
      } catch (e) {
        if (!ctl.signal.aborted) setError(errorText(e));
      }
    })();
    return () => {
      ctl.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [path, material.file?.content_type]);

  const name = material.file?.name || material.title;
  return (
    <Dialog title={material.title} onClose={onClose} wide>
      {material.description && <p>{material.description}</p>}
      {error ? (
        <Alert>{error}</Alert>
      ) : !url ? (
        <Spinner label="Ouverture du support…" />
      ) : type === 'application/pdf' ? (
        <iframe className="viewer viewer-pdf" src={url} title={`Document : ${name}`} data-testid="viewer" />
      ) : type.startsWith('image/') ? (
        <img className="viewer" src={url} alt={material.description || material.title} data-testid="viewer" />
      ) : type.startsWith('audio/') ? (
        <audio className="viewer" src={url} controls data-testid="viewer" />
      ) : type.startsWith('video/') ? (
        <video className="viewer" src={url} controls data-testid="viewer" />
      ) : (
        <p>Ce document ne peut pas être affiché ici : téléchargez-le.</p>
      )}
      <div className="form-actions">
        <button type="button" className="button" onClick={() => download(path, name).catch((e) => setError(errorText(e)))}>
          Télécharger<span className="visually-hidden"> {material.title}</span>
        </button>
      </div>
    </Dialog>
  );
}
