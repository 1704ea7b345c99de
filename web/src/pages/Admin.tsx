import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { NavLink, useParams } from 'react-router';
import { saveBlob, useApi, type List } from '../lib/api';
import { ROLE_LABELS, fmtDate, fmtDateTime } from '../lib/format';
import type { ClassInfo, CreatedUser, ImportReport, PasswordReset, Period, UserInfo } from '../lib/types';
import { Alert, Card, Empty, PageTitle, Spinner, TableWrap, errorText } from '../components/ui';
import { Dialog } from '../components/Dialog';
import { count, ofName, plural } from '../lib/i18n';
import { FileInput } from '../components/FileInput';

export function AdminPage() {
  const { section = 'utilisateurs' } = useParams();
  const { listAll } = useApi();
  const [classes, setClasses] = useState<ClassInfo[]>([]);
  const reloadClasses = useCallback(() => {
    listAll<ClassInfo>('/api/users/classes').then(setClasses).catch(() => setClasses([]));
  }, [listAll]);
  useEffect(reloadClasses, [reloadClasses]);

  return (
    <>
      <PageTitle title="Administration" />
      <nav className="tabs" aria-label="Sections de l'administration">
        <NavLink to="/admin/utilisateurs" className={() => (section === 'utilisateurs' ? 'active' : '')} aria-current={section === 'utilisateurs' ? 'page' : undefined}>
          Utilisateurs
        </NavLink>
        <NavLink to="/admin/classes">Classes</NavLink>
        <NavLink to="/admin/import">Import CSV</NavLink>
        <NavLink to="/admin/annees">Années scolaires</NavLink>
      </nav>
      {section === 'annees' ? (
        <YearsSection />
      ) : section === 'classes' ? (
        <ClassesSection classes={classes} reload={reloadClasses} />
      ) : section === 'import' ? (
        <ImportSection onImported={reloadClasses} />
      ) : (
        <UsersSection classes={classes} />
      )}
    </>
  );
}

function CodeBox({ user, code, expires }: { user: string; code: string; expires?: string }) {
  return (
    <div className="alert alert-success code-box" role="status">
      <p>
        Code d'activation de <strong>{user}</strong> :
      </p>
      <p className="code" data-testid="activation-code">{code}</p>
      <p className="small">
        À remettre à la personne{expires ? `, valable jusqu'au ${fmtDate(expires)}` : ''}. Il ne sera plus affiché.
      </p>
    </div>
  );
}

function statusOf(u: UserInfo): { text: string; cls: string } {
  if (u.disabled) return { text: 'Désactivé', cls: 'tag-red' };
  if (u.activation_pending || !u.active) return { text: 'Activation en attente', cls: 'tag-amber' };
  return { text: 'Actif', cls: 'tag-green' };
}

function UsersSection({ classes }: { classes: ClassInfo[] }) {
  const { api } = useApi();
  const [q, setQ] = useState('');
  const [role, setRole] = useState('');
  const [classId, setClassId] = useState('');
  const [users, setUsers] = useState<UserInfo[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [code, setCode] = useState<{ user: string; code: string; expires?: string } | null>(null);
  const [status, setStatus] = useState('');

  const load = useCallback(
    async (cursor?: string) => {
      const p = new URLSearchParams({ limit: '50' });
      if (q.trim()) p.set('q', q.trim());
      if (role) p.set('role', role);
      if (classId) p.set('class_id', classId);
      if (cursor) p.set('cursor', cursor);
      try {
        const r = await api<List<UserInfo>>(`/api/users?${p}`);
        setUsers((old) => (cursor && old ? [...old, ...r.items] : r.items));
        setNext(r.next_cursor ?? null);
        setError(null);
      } catch (e) {
        setError(errorText(e));
      }
    },
    [q, role, classId, api],
  );
  useEffect(() => {
    const t = setTimeout(() => load(), 250);
    return () => clearTimeout(t);
  }, [load]);

  const patch = async (u: UserInfo, body: Record<string, unknown>, done: string) => {
    try {
      const r = await api<UserInfo>(`/api/users/${u.id}`, { method: 'PATCH', json: body });
      setUsers((old) => old?.map((x) => (x.id === u.id ? r : x)) ?? null);
      setStatus(done);
      setError(null);
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    }
  };

  const editingUser = users?.find((u) => u.id === editing);

  const reset = async (u: UserInfo) => {
    if (!window.confirm(`Réinitialiser le mot de passe de ${u.name} ? Un nouveau code d'activation sera créé.`)) return;
    try {
      const r = await api<PasswordReset>(`/api/users/${u.id}/password-reset`, {
        method: 'POST',
        json: {},
      });
      setCode({ user: u.name, code: r.activation_code, expires: r.activation_expires_at });
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="u-q">Rechercher</label>
          <input id="u-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Nom ou e-mail" />
        </div>
        <div className="field">
          <label htmlFor="u-role">Rôle</label>
          <select id="u-role" value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">Tous</option>
            {Object.entries(ROLE_LABELS).map(([k, v]) => (
              <option key={k} value={k}>{v}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="u-class">Classe</label>
          <select id="u-class" value={classId} onChange={(e) => setClassId(e.target.value)}>
            <option value="">Toutes</option>
            {classes.map((c) => (
              <option key={c.id} value={c.id}>{c.name}</option>
            ))}
          </select>
        </div>
        <button type="button" className="button button-primary toolbar-end" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
          Nouvel utilisateur
        </button>
      </div>
      <div className="visually-hidden" role="status">{status}</div>
      {code && <CodeBox {...code} />}
      {creating && (
        <UserForm
          classes={classes}
          onCancel={() => setCreating(false)}
          onSaved={(u) => {
            setCreating(false);
            if (u.activation_code) setCode({ user: u.name, code: u.activation_code, expires: u.activation_expires_at });
            setStatus(`Compte ${ofName(u.name)} créé.`);
            load();
          }}
        />
      )}
      {error && <Alert>{error}</Alert>}
      {users === null ? (
        <Spinner />
      ) : users.length === 0 ? (
        <Empty>Aucun utilisateur ne correspond.</Empty>
      ) : (
        <>
          <p className="small muted" data-testid="user-count">{count(users.length, 'compte affiché', 'comptes affichés')}{next ? ' (il y en a d’autres)' : ''}</p>
          <ul className="ulist" aria-label="Utilisateurs">
            {users.map((u) => {
              const s = statusOf(u);
              const cls = u.class?.name ?? (u.classes?.map((c) => c.name).join(', ') || '—');
              return (
                <li key={u.id} className="ulist-row">
                  <div className="ulist-who">
                    <strong className="ulist-name">{u.name}</strong>
                    <span className="ulist-email small muted" title={u.email ?? undefined}>{u.email ? emailBreaks(u.email) : '—'}</span>
                  </div>
                  <div className="ulist-meta">
                    <span className="ulist-role">{ROLE_LABELS[u.role]}</span>
                    <span className={`tag ${s.cls}`}>{s.text}</span>
                  </div>
                  <span className="ulist-classes" title={cls}><span className="ulist-label muted small">{plural(u.classes?.length ?? 1, 'Classe', 'Classes')} : </span>{cls}</span>
                  <div className="ulist-actions">
                    <button type="button" className="button button-small" onClick={() => setEditing(u.id)}>
                      Modifier<span className="visually-hidden"> {u.name}</span>
                    </button>
                    <button type="button" className="button button-small" onClick={() => patch(u, { disabled: !u.disabled }, `Compte ${ofName(u.name)} ${u.disabled ? 'réactivé' : 'désactivé'}.`)}>
                      {u.disabled ? 'Réactiver' : 'Désactiver'}<span className="visually-hidden"> {u.name}</span>
                    </button>
                    <button type="button" className="button button-small" onClick={() => reset(u)}>
                      Mot de passe<span className="visually-hidden"> {ofName(u.name)} : réinitialiser</span>
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
          {editingUser && (
            <Dialog title={`Modifier le compte ${ofName(editingUser.name)}`} onClose={() => setEditing(null)} wide>
              <UserForm
                bare
                user={editingUser}
                classes={classes}
                onCancel={() => setEditing(null)}
                onSaved={(r) => {
                  setUsers((old) => old?.map((x) => (x.id === r.id ? r : x)) ?? null);
                  setEditing(null);
                  setStatus(`Compte ${ofName(r.name)} enregistré.`);
                }}
              />
            </Dialog>
          )}
        </>
      )}
      {next && (
        <button type="button" className="button" onClick={() => load(next)}>
          Afficher plus
        </button>
      )}
    </>
  );
}

/** An e-mail address that may wrap only after its @ and before its dots, never inside a word. */
function emailBreaks(email: string) {
  const parts = email.split(/(?=[@.])/);
  return parts.map((p, i) => (
    <span key={i}>
      {i > 0 && <wbr />}
      {p}
    </span>
  ));
}

function UserForm({ user, classes, onSaved, onCancel, bare = false }: { user?: UserInfo; classes: ClassInfo[]; onSaved: (u: CreatedUser) => void; onCancel: () => void; bare?: boolean }) {
  const { api } = useApi();
  const [given, setGiven] = useState(user?.given_name ?? '');
  const [family, setFamily] = useState(user?.family_name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [role, setRole] = useState<string>(user?.role ?? 'etudiant');
  const [classId, setClassId] = useState(user?.class?.id ?? user?.classes?.[0]?.id ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const p = user ? `edit-${user.id}` : 'new';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { given_name: given.trim(), family_name: family.trim(), email: email.trim(), role };
      if (user) {
        const oldClass = user.class?.id ?? user.classes?.[0]?.id ?? '';
        if (classId !== oldClass) body.class_id = classId || null;
      } else if (classId) body.class_id = classId;
      const r = user
        ? await api<UserInfo>(`/api/users/${user.id}`, { method: 'PATCH', json: body })
        : await api<CreatedUser>('/api/users', { method: 'POST', json: body });
      onSaved(r);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const form = (
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${p}-given`}>Prénom</label>
            <input id={`${p}-given`} data-autofocus required maxLength={100} value={given} onChange={(e) => setGiven(e.target.value)} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={`${p}-family`}>Nom</label>
            <input id={`${p}-family`} required maxLength={100} value={family} onChange={(e) => setFamily(e.target.value)} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={`${p}-email`}>E-mail</label>
            <input id={`${p}-email`} type="email" required maxLength={254} value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
          </div>
        </div>
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${p}-role`}>Rôle</label>
            <select id={`${p}-role`} value={role} onChange={(e) => setRole(e.target.value)}>
              {Object.entries(ROLE_LABELS).map(([k, v]) => (
                <option key={k} value={k}>{v}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${p}-class`}>Classe</label>
            <select id={`${p}-class`} value={classId} onChange={(e) => setClassId(e.target.value)}>
              <option value="">Aucune</option>
              {classes.map((c) => (
                <option key={c.id} value={c.id}>{c.name}</option>
              ))}
            </select>
          </div>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {user ? 'Enregistrer' : 'Créer le compte'}
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Annuler
          </button>
        </div>
      </form>
  );
  return bare ? form : <Card title="Nouvel utilisateur">{form}</Card>;
}

function currentSchoolYear(): string {
  const d = new Date();
  const y = d.getFullYear();
  return d.getMonth() >= 7 ? `${y}-${y + 1}` : `${y - 1}-${y}`;
}

function ClassesSection({ classes, reload }: { classes: ClassInfo[]; reload: () => void }) {
  const { api } = useApi();
  const [name, setName] = useState('');
  const [level, setLevel] = useState('');
  const [year, setYear] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body: Record<string, unknown> = { name: name.trim(), level: level.trim() || null };
      if (year.trim()) body.school_year = year.trim();
      await api('/api/users/classes', { method: 'POST', json: body });
      setOk(`Classe ${name} créée.`);
      setName('');
      setLevel('');
      setError(null);
      reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <div className="grid-2 grid-wide-first">
      <Card title="Classes">
        {classes.length === 0 ? (
          <Empty>Aucune classe.</Empty>
        ) : (
          <TableWrap label="Classes">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Classe</th>
                  <th scope="col">Niveau</th>
                  <th scope="col">Année</th>
                  <th scope="col">Élèves</th>
                </tr>
              </thead>
              <tbody>
                {classes.map((c) => (
                  <tr key={c.id}>
                    <th scope="row">{c.name}</th>
                    <td>{c.level || '—'}</td>
                    <td>{c.school_year}</td>
                    <td>{c.student_count ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Card>
      <Card title="Nouvelle classe">
        <form className="form" onSubmit={submit}>
          {error && <Alert>{error}</Alert>}
          {ok && <Alert kind="success">{ok}</Alert>}
          <div className="field">
            <label htmlFor="cl-name">Nom</label>
            <input id="cl-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="3e B" />
          </div>
          <div className="field">
            <label htmlFor="cl-level">Niveau</label>
            <input id="cl-level" maxLength={50} value={level} onChange={(e) => setLevel(e.target.value)} placeholder="3e" />
          </div>
          <div className="field">
            <label htmlFor="cl-year">Année scolaire</label>
            <input id="cl-year" pattern="[0-9]{4}-[0-9]{4}" value={year} onChange={(e) => setYear(e.target.value)} placeholder={currentSchoolYear()} aria-describedby="cl-year-help" />
            <span id="cl-year-help" className="small muted">Vide : l'année scolaire en cours.</span>
          </div>
          <div className="form-actions">
            <button type="submit" className="button button-primary">Créer la classe</button>
          </div>
        </form>
      </Card>
    </div>
  );
}

function csvCell(s: string | null | undefined): string {
  const v = s ?? '';
  return /[",\n\r;]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function ImportSection({ onImported }: { onImported: () => void }) {
  const { api } = useApi();
  const [file, setFile] = useState<File | null>(null);
  const [dryRun, setDryRun] = useState(true);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) {
      setError('Choisissez un fichier CSV.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = await file.text();
      setReport(
        await api<ImportReport>(`/api/users/import${dryRun ? '?dry_run=true' : ''}`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/csv; charset=utf-8' },
          body,
        }),
      );
      if (!dryRun) onImported();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const downloadCodes = () => {
    if (!report) return;
    const lines = ['email,nom,classe,code'];
    for (const c of report.activation_codes) lines.push([c.email, c.name, c.class, c.code].map(csvCell).join(','));
    saveBlob(new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' }), 'codes-activation.csv');
  };

  return (
    <>
      <Card title="Importer des comptes">
        <form className="form" onSubmit={submit}>
          <p className="small">
            Fichier CSV avec les colonnes <code>email,given_name,family_name,role,class,external_id</code>. Les comptes existants
            (même <code>external_id</code>, sinon même e-mail) sont mis à jour ; les nouveaux reçoivent un code d'activation.
          </p>
          {error && <Alert>{error}</Alert>}
          <div className="field">
            <label htmlFor="imp-file">Fichier CSV</label>
            <FileInput id="imp-file" accept=".csv,text/csv" chosen={file?.name ?? null} onFiles={(f) => setFile(f?.[0] ?? null)} />
          </div>
          <label className="check">
            <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} />
            Simulation : vérifier le fichier sans rien enregistrer
          </label>
          <div className="form-actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              {dryRun ? 'Vérifier le fichier' : 'Importer'}
            </button>
          </div>
        </form>
      </Card>
      {report && (
        <Card title={report.dry_run ? 'Résultat de la simulation' : "Rapport d'import"}>
          <ul className="stats" data-testid="import-report">
            <li><strong>{report.created}</strong> {plural(report.created, 'compte créé', 'comptes créés')}</li>
            <li><strong>{report.updated}</strong> {plural(report.updated, 'compte mis à jour', 'comptes mis à jour')}</li>
            <li><strong>{report.unchanged}</strong> {plural(report.unchanged, 'compte inchangé', 'comptes inchangés')}</li>
            <li><strong>{report.classes_created ?? 0}</strong> {plural(report.classes_created ?? 0, 'classe créée', 'classes créées')}</li>
            <li><strong>{report.rejected.length}</strong> {plural(report.rejected.length, 'ligne rejetée', 'lignes rejetées')}</li>
          </ul>
          {report.rejected.length > 0 && (
            <>
              <h3>Lignes rejetées</h3>
              <TableWrap label="Lignes rejetées">
                <table className="table">
                  <thead><tr><th scope="col">Ligne</th><th scope="col">Motif</th></tr></thead>
                  <tbody>
                    {report.rejected.map((r) => <tr key={r.line}><td>{r.line}</td><td>{r.reason}</td></tr>)}
                  </tbody>
                </table>
              </TableWrap>
            </>
          )}
          {report.activation_codes.length > 0 && (
            <>
              <div className="card-head">
                <h3>Codes d'activation à distribuer</h3>
                <button type="button" className="button button-small" onClick={downloadCodes}>Télécharger (CSV)</button>
              </div>
              <TableWrap label="Codes d'activation">
                <table className="table">
                  <thead><tr><th scope="col">Nom</th><th scope="col">E-mail</th><th scope="col">Classe</th><th scope="col">Code</th></tr></thead>
                  <tbody>
                    {report.activation_codes.map((c) => (
                      <tr key={c.line}><td>{c.name}</td><td className="break">{c.email}</td><td>{c.class ?? '—'}</td><td><code>{c.code}</code></td></tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </>
          )}
          {report.dry_run && <p className="small muted">Simulation : rien n'a été enregistré. Décochez « Simulation » pour importer.</p>}
          <p className="small muted">Import du {fmtDateTime(new Date().toISOString())}.</p>
        </Card>
      )}
    </>
  );
}

/**
 * The school years of the notes' periods: an administrator closes a year that is over (its
 * evaluations and grades no longer change, teachers no longer see its periods when they add an
 * evaluation) or opens it again.
 */
function YearsSection() {
  const { api, listAll } = useApi();
  const [periods, setPeriods] = useState<Period[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const load = useCallback(() => {
    listAll<Period>('/api/notes/periods').then(setPeriods).catch((e) => setError(errorText(e)));
  }, [listAll]);
  useEffect(load, [load]);
  const today = new Date().toISOString().slice(0, 10);
  const years = [...new Set((periods ?? []).map((p) => p.school_year))].sort().reverse();

  const setClosed = async (year: string, closed: boolean) => {
    if (closed && !window.confirm(`Clore l'année ${year} ? Ses évaluations et ses notes ne pourront plus être modifiées.`)) return;
    try {
      await api(`/api/notes/school-years/${year}`, { method: 'PUT', json: { closed } });
      setOk(`Année ${year} ${closed ? 'close' : 'rouverte'}.`);
      setError(null);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <Card title="Années scolaires">
      {error && <Alert>{error}</Alert>}
      {ok && <Alert kind="success">{ok}</Alert>}
      {periods === null ? (
        <Spinner />
      ) : years.length === 0 ? (
        <Empty>Aucune période de notation.</Empty>
      ) : (
        <ul className="list">
          {years.map((y) => {
            const ps = periods.filter((p) => p.school_year === y);
            const closed = ps.every((p) => p.closed);
            const over = ps.every((p) => p.ends_on < today);
            return (
              <li key={y} className="list-row">
                <span>
                  <strong>{y}</strong> <span className="muted">· {count(ps.length, 'période', 'périodes')} ({ps.map((p) => p.name).join(', ')})</span>{' '}
                  <span className={`tag ${closed ? 'tag-red' : over ? 'tag-amber' : 'tag-green'}`}>{closed ? 'Close' : over ? 'Terminée' : 'En cours'}</span>
                </span>
                {closed ? (
                  <button type="button" className="button button-small" onClick={() => setClosed(y, false)}>
                    Rouvrir<span className="visually-hidden"> l'année {y}</span>
                  </button>
                ) : over ? (
                  <button type="button" className="button button-small" onClick={() => setClosed(y, true)}>
                    Clore<span className="visually-hidden"> l'année {y}</span>
                  </button>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}
