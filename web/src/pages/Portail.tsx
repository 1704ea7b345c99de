import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { useNotifications } from '../lib/notifications';
import { useModules } from '../lib/modules';
import { useApi, type List } from '../lib/api';
import { fmtDate, fmtNum, relTime } from '../lib/format';
import type { Cours, Material, StudentEvaluation, StudentReport } from '../lib/types';
import { Card, Empty, PageTitle, Spinner } from '../components/ui';

interface RecentGrade {
  id: string;
  subject: string;
  title: string;
  date: string;
  text: string;
}

function gradeText(e: StudentEvaluation): string {
  if (e.status === 'absent') return 'Absent';
  if (e.status === 'exempt') return 'Dispensé';
  if (e.status === 'not_graded' || e.value === null) return 'Non noté';
  return e.scale === 20 ? `${fmtNum(e.value)}/20` : `${fmtNum(e.value)}/${e.scale} (${fmtNum(e.value20)}/20)`;
}

export function PortailPage() {
  const { session, hasRole, hasService } = useAuth();
  const { unread, latest, available } = useNotifications();
  const { tiles } = useModules();
  const { api } = useApi();
  const [grades, setGrades] = useState<RecentGrade[] | null>(null);
  const [materials, setMaterials] = useState<(Material & { cours: string })[] | null>(null);
  const student = hasRole('etudiant') && !hasRole('admin', 'enseignant');
  // Booleans, not hasService itself: the functions of useAuth() change at each token refresh,
  // which would load the dashboard again every few minutes.
  const showGrades = student && hasService('notes');
  const showMaterials = hasService('cours');

  // The requests: /api/notes/me (students), /api/cours?limit=8 then one materials list per course
  // (the API has no list of recent materials across courses). The unread notifications come from
  // the notifications context (its stream and one list), shared with the bell.
  useEffect(() => {
    if (!showGrades) return;
    api<StudentReport>('/api/notes/me')
      .then((r) => {
        const all: RecentGrade[] = [];
        for (const p of r.periods)
          for (const s of p.subjects)
            for (const e of s.evaluations)
              all.push({ id: e.id, subject: s.title, title: e.title, date: e.date, text: gradeText(e) });
        all.sort((a, b) => b.date.localeCompare(a.date));
        setGrades(all.slice(0, 5));
      })
      .catch(() => setGrades([]));
  }, [showGrades, api]);

  useEffect(() => {
    if (!showMaterials) return;
    (async () => {
      const courses = await api<List<Cours>>('/api/cours?limit=8');
      const lists = await Promise.all(
        courses.items.map((c) =>
          api<List<Material>>(`/api/cours/${c.id}/materials`)
            .then((l) => l.items.filter((m) => m.published).map((m) => ({ ...m, cours: c.title })))
            .catch(() => []),
        ),
      );
      const all = lists.flat().sort((a, b) => (b.publish_at || b.created_at).localeCompare(a.publish_at || a.created_at));
      setMaterials(all.slice(0, 5));
    })().catch(() => setMaterials([]));
  }, [showMaterials, api]);

  return (
    <>
      <PageTitle title={`Bonjour ${session?.name.split(' ')[0] ?? ''}`} />
      <ul className="tiles" aria-label="Services">
        {tiles.map(({ path, title, page, tile }) => (
          <li key={path}>
            {page ? (
              <Link className="tile" to={path}>
                <span className="tile-label">{title}</span>
                <span className="tile-text">{tile.text}</span>
                {tile.Badge && <tile.Badge />}
              </Link>
            ) : (
              <div className="tile tile-disabled">
                <span className="tile-label">{title}</span>
                <span className="tile-text">{tile.text}</span>
              </div>
            )}
          </li>
        ))}
      </ul>
      <div className="grid-2">
        {showGrades && (
          <Card title="Dernières notes" actions={<Link to="/notes">Toutes mes notes</Link>}>
            {grades === null ? (
              <Spinner />
            ) : grades.length === 0 ? (
              <Empty>Aucune note pour le moment.</Empty>
            ) : (
              <ul className="list">
                {grades.map((g) => (
                  <li key={g.id} className="list-row">
                    <span>
                      <strong>{g.subject}</strong> — {g.title}
                      <span className="muted"> · {fmtDate(g.date)}</span>
                    </span>
                    <span className="grade-pill">{g.text}</span>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        )}
        {available && (
          <Card title={`Notifications non lues (${unread})`} actions={<Link to="/notifications">Tout voir</Link>}>
            {latest.filter((n) => !n.read_at).length === 0 ? (
              <Empty>Vous êtes à jour.</Empty>
            ) : (
              <ul className="list">
                {latest
                  .filter((n) => !n.read_at)
                  .slice(0, 5)
                  .map((n) => (
                    <li key={n.id} className="list-row">
                      <span>
                        <strong>{n.title}</strong>
                        <br />
                        <span className="muted">{n.body}</span>
                      </span>
                      <span className="muted nowrap">{relTime(n.created_at)}</span>
                    </li>
                  ))}
              </ul>
            )}
          </Card>
        )}
        {showMaterials && (
          <Card title="Supports récents" actions={<Link to="/cours">Tous les cours</Link>}>
            {materials === null ? (
              <Spinner />
            ) : materials.length === 0 ? (
              <Empty>Aucun support publié.</Empty>
            ) : (
              <ul className="list">
                {materials.map((m) => (
                  <li key={m.id} className="list-row">
                    <span>
                      <Link to={`/cours/${m.cours_id}?support=${m.id}`}>{m.title}</Link>
                      <br />
                      <span className="muted">{m.cours}</span>
                    </span>
                    <span className="muted nowrap">{fmtDate(m.publish_at || m.created_at)}</span>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        )}
      </div>
    </>
  );
}
