import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { NavLink, useParams } from 'react-router';
import { saveBlob, useApi, type List } from '../lib/api';
import { ROLE_LABELS, fmtDate, fmtDateTime } from '../lib/format';
import type { ClassInfo, CreatedUser, ImportReport, PasswordReset, UserInfo } from '../lib/types';
import { Alert, Card, Empty, PageTitle, Spinner, TableWrap, errorText } from '../components/ui';

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
      </nav>
      {section === 'classes' ? (
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
            setStatus(`Compte de ${u.name} créé.`);
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
        <TableWrap label="Utilisateurs">
          <table className="table">
            <caption className="visually-hidden">Utilisateurs</caption>
            <thead>
              <tr>
                <th scope="col">Nom</th>
                <th scope="col" className="hide-sm">E-mail</th>
                <th scope="col">Rôle</th>
                <th scope="col" className="hide-sm">Classe</th>
                <th scope="col">État</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => {
                const s = statusOf(u);
                return [
                  <tr key={u.id}>
                    <th scope="row">
                      {u.name}
                      <span className="block small muted show-sm break">{u.email}</span>
                    </th>
                    <td className="break hide-sm">{u.email}</td>
                    <td>{ROLE_LABELS[u.role]}</td>
                    <td className="hide-sm">{u.class?.name ?? (u.classes?.map((c) => c.name).join(', ') || '—')}</td>
                    <td><span className={`tag ${s.cls}`}>{s.text}</span></td>
                    <td className="row-actions">
                      <button type="button" className="button button-small" onClick={() => setEditing(editing === u.id ? null : u.id)} aria-expanded={editing === u.id}>
                        Modifier<span className="visually-hidden"> {u.name}</span>
                      </button>
                      <button type="button" className="button button-small" onClick={() => patch(u, { disabled: !u.disabled }, `${u.name} ${u.disabled ? 'réactivé' : 'désactivé'}.`)}>
                        {u.disabled ? 'Réactiver' : 'Désactiver'}<span className="visually-hidden"> {u.name}</span>
                      </button>
                      <button type="button" className="button button-small" onClick={() => reset(u)}>
                        Réinitialiser<span className="visually-hidden"> le mot de passe de {u.name}</span>
                      </button>
                    </td>
                  </tr>,
                  editing === u.id && (
                    <tr key={`${u.id}-edit`} className="edit-row">
                      <td colSpan={6}>
                        <UserForm
                          user={u}
                          classes={classes}
                          onCancel={() => setEditing(null)}
                          onSaved={(r) => {
                            setUsers((old) => old?.map((x) => (x.id === r.id ? r : x)) ?? null);
                            setEditing(null);
                            setStatus(`${r.name} enregistré.`);
                          }}
                        />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      {next && (
        <button type="button" className="button" onClick={() => load(next)}>
          Afficher plus
        </button>
      )}
    </>
  );
}

function UserForm({ user, classes, onSaved, onCancel }: { user?: UserInfo; classes: ClassInfo[]; onSaved: (u: CreatedUser) => void; onCancel: () => void }) {
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

  return (
    <Card title={user ? `Modifier ${user.name}` : 'Nouvel utilisateur'}>
      <form className="form" onSubmit={submit}>
        {error && <Alert>{error}</Alert>}
        <div className="form-row">
          <div className="field">
            <label htmlFor={`${p}-given`}>Prénom</label>
            <input id={`${p}-given`} required maxLength={100} value={given} onChange={(e) => setGiven(e.target.value)} autoComplete="off" />
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
    </Card>
  );
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
            <input id="imp-file" type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
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
            <li><strong>{report.created}</strong> créés</li>
            <li><strong>{report.updated}</strong> mis à jour</li>
            <li><strong>{report.unchanged}</strong> inchangés</li>
            <li><strong>{report.classes_created ?? 0}</strong> classes créées</li>
            <li><strong>{report.rejected.length}</strong> lignes rejetées</li>
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
