// /messagerie: folders with their unread counts, a folder's list and the reading pane side by side
// (the list, then the message, on a phone), search, compose (recipients proposed by the server),
// drafts, reply, reply all, forward, announcements with acknowledgement (the recipients confirm,
// the sender sees who has not and reminds them), recall within 60 minutes, attachments (uploaded
// to fichiers with progress, downloaded from the reading pane), reporting a message to the
// administrators. The list follows the live stream (lib/messagerie.ts). API: docs/messagerie.md.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useAuth } from '../lib/AuthContext';
import { ApiError, useApi, type List } from '../lib/api';
import { fmtDateTime, fmtSize, relTime } from '../lib/format';
import { setInboxUnread, useMailLive } from '../lib/messagerie';
import { addDays, parisDay, parisToUtc } from '../lib/paris';
import type { Address, Message, MessageFolder, MessageItem, MessageThread, Receipts, RecallResult } from '../lib/types';
import { Alert, Empty, PageTitle, Spinner, otherErrorText } from '../components/ui';
import { Dialog } from '../components/Dialog';
import { RecipientField, type Chosen } from '../components/RecipientField';
import { AttachmentsField, type Attached, type Uploading } from '../components/Attachments';

const FIELDS: Record<string, string> = {
  to: 'À',
  cc: 'Cc',
  bcc: 'Cci',
  subject: 'Objet',
  body: 'Message',
  send_at: "Date d'envoi",
  folder: 'Dossier',
  name: 'Nom du dossier',
  ack_required: 'Accusé de lecture',
  attachments: 'Pièces jointes',
  reason: 'Motif',
  comment: 'Commentaire',
  email_forward: 'Transfert par courriel',
  out_of_office: "Message d'absence",
  quiet_hours: 'Heures calmes',
};

/** "1 pièce jointe", "3 pièces jointes". */
const filesLabel = (n: number) => (n > 1 ? `${n} pièces jointes` : '1 pièce jointe');

/** An error of the messagerie in French: the server's detail, and the fields it names. */
export function mailError(e: unknown): string {
  if (!(e instanceof ApiError)) return otherErrorText(e);
  const errors = e.problem.errors ?? {};
  // A refused recipient (403) or the hourly limit (429): the server's sentence says it all.
  if (e.status !== 400) return e.message;
  const parts = Object.entries(errors).map(([k, v]) => {
    const m = /^(to|cc|bcc)\[(\d+)\]/.exec(k);
    const name = m ? `${FIELDS[m[1]]} (destinataire n° ${Number(m[2]) + 1})` : FIELDS[k.split(/[.[]/)[0]] ?? k;
    // The core's own messages are English: only the service's French ones are shown.
    return /^(is |must |should |expected |unknown |not )/i.test(v) ? `${name} : valeur invalide` : `${name} : ${v}`;
  });
  return parts.length ? `Le message n'est pas valide. ${parts.join(' ; ')}.` : 'La demande est invalide.';
}

const RECALL_MS = 60 * 60 * 1000;

function names(list: Address[]): string {
  return list.map((a) => a.name).join(', ');
}

type ComposeMode = { kind: 'new' } | { kind: 'draft'; message: Message } | { kind: 'reply'; message: Message; all: boolean } | { kind: 'forward'; message: Message };

export function MessageriePage() {
  const { hasService, hasRole } = useAuth();
  const { api } = useApi();
  const live = useMailLive(hasService('messagerie'));
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [reportsOpen, setReportsOpen] = useState(false);
  const [params, setParams] = useSearchParams();
  const folder = params.get('dossier') || 'inbox';
  const selected = params.get('message');
  const search = params.get('q') || '';
  const [folders, setFolders] = useState<MessageFolder[] | null>(null);
  const [items, setItems] = useState<MessageItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [compose, setCompose] = useState<ComposeMode | null>(null);
  const [q, setQ] = useState(search);
  const [newFolder, setNewFolder] = useState<string | null>(null);

  const go = useCallback(
    (p: { dossier?: string; message?: string | null; q?: string | null }) => {
      const n = new URLSearchParams(params);
      if (p.dossier !== undefined) {
        n.set('dossier', p.dossier);
        n.delete('q');
        n.delete('message');
      }
      if (p.q !== undefined) {
        if (p.q) n.set('q', p.q);
        else n.delete('q');
        n.delete('message');
      }
      if (p.message !== undefined) {
        if (p.message) n.set('message', p.message);
        else n.delete('message');
      }
      setParams(n);
    },
    [params, setParams],
  );

  const loadFolders = useCallback(async () => {
    try {
      const r = await api<{ items: MessageFolder[] }>('/api/messages/folders');
      setFolders(r.items);
      setInboxUnread(r.items);
    } catch (e) {
      setError(mailError(e));
    }
  }, [api]);

  const loadList = useCallback(
    async (cursor?: string) => {
      try {
        const p = new URLSearchParams({ limit: '30' });
        if (cursor) p.set('cursor', cursor);
        let path: string;
        if (search) {
          p.set('q', search);
          path = `/api/messages/search?${p}`;
        } else {
          p.set('folder', folder);
          path = `/api/messages?${p}`;
        }
        const r = await api<List<MessageItem>>(path);
        setItems((old) => (cursor && old ? [...old, ...r.items] : r.items));
        setNext(r.next_cursor ?? null);
      } catch (e) {
        setError(mailError(e));
        setItems([]);
      }
    },
    [api, folder, search],
  );

  const refresh = useCallback(() => {
    loadFolders();
    loadList();
  }, [loadFolders, loadList]);

  useEffect(() => {
    setItems(null);
    loadList();
  }, [loadList]);
  useEffect(() => {
    loadFolders();
  }, [loadFolders]);
  // A message pushed by the stream: the folders and the list are read again.
  const seen = useRef(live.event.seq);
  useEffect(() => {
    if (live.event.seq === seen.current) return;
    seen.current = live.event.seq;
    refresh();
    if (live.event.kind === 'message' && live.event.data?.subject)
      setStatus(`Nouveau message de ${live.event.data.sender?.name ?? '?'} : ${live.event.data.subject}`);
  }, [live.event, refresh]);

  const current = folders?.find((f) => f.id === folder);
  const listTitle = search ? `Résultats pour « ${search} »` : current?.name ?? 'Messages';

  const createFolder = async (e: FormEvent) => {
    e.preventDefault();
    if (!newFolder?.trim()) return;
    try {
      const f = await api<MessageFolder>('/api/messages/folders', { method: 'POST', json: { name: newFolder.trim() } });
      setNewFolder(null);
      setStatus(`Dossier « ${f.name} » créé.`);
      await loadFolders();
      go({ dossier: f.id });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? 'Vous avez déjà un dossier de ce nom.' : mailError(err));
    }
  };
  const deleteFolder = async (f: MessageFolder) => {
    if (!window.confirm(`Supprimer le dossier « ${f.name} » ? Ses messages reviennent dans la boîte de réception.`)) return;
    try {
      await api(`/api/messages/folders/${encodeURIComponent(f.id)}`, { method: 'DELETE' });
      setStatus(`Dossier « ${f.name} » supprimé.`);
      go({ dossier: 'inbox' });
      loadFolders();
    } catch (err) {
      setError(mailError(err));
    }
  };

  const afterSent = (text: string) => {
    setCompose(null);
    setStatus(text);
    refresh();
  };

  return (
    <>
      <PageTitle title="Messagerie">
        {hasRole('admin') && (
          <button type="button" className="button" onClick={() => setReportsOpen(true)}>
            Signalements
          </button>
        )}
        <button type="button" className="button" onClick={() => setSettingsOpen(true)}>
          Réglages
        </button>
        <button type="button" className="button button-primary" onClick={() => setCompose({ kind: 'new' })}>
          Nouveau message
        </button>
      </PageTitle>
      <p className="mail-status" role="status">
        {status}
      </p>
      {error && (
        <Alert>
          {error}{' '}
          <button type="button" className="link-button" onClick={() => setError(null)}>
            Fermer
          </button>
        </Alert>
      )}
      <form
        className="mail-search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: q.trim() || null });
        }}
      >
        <label htmlFor="mail-q" className="visually-hidden">
          Rechercher dans mes messages
        </label>
        <input id="mail-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Rechercher dans mes messages" />
        <button type="submit" className="button">
          Rechercher
        </button>
        {search && (
          <button
            type="button"
            className="button button-ghost"
            onClick={() => {
              setQ('');
              go({ q: null });
            }}
          >
            Effacer
          </button>
        )}
      </form>
      <div className={`mail ${selected ? 'mail-reading' : ''}`}>
        <nav className="mail-folders" aria-label="Dossiers">
          {folders === null ? (
            <Spinner />
          ) : (
            <ul>
              {folders.map((f) => (
                <li key={f.id}>
                  <button
                    type="button"
                    className={`folder ${f.id === folder && !search ? 'active' : ''}`}
                    aria-current={f.id === folder && !search ? 'page' : undefined}
                    onClick={() => go({ dossier: f.id })}
                  >
                    <span className="folder-name">{f.name}</span>
                    {f.unread > 0 && (
                      <span className="count">
                        {f.unread}
                        <span className="visually-hidden"> non lu{f.unread > 1 ? 's' : ''}</span>
                      </span>
                    )}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {newFolder === null ? (
            <button type="button" className="link-button" onClick={() => setNewFolder('')}>
              Nouveau dossier
            </button>
          ) : (
            <form className="new-folder" onSubmit={createFolder}>
              <label htmlFor="new-folder">Nom du dossier</label>
              <input id="new-folder" autoFocus maxLength={60} required value={newFolder} onChange={(e) => setNewFolder(e.target.value)} />
              <div className="form-actions">
                <button type="submit" className="button button-small button-primary">
                  Créer
                </button>
                <button type="button" className="button button-small" onClick={() => setNewFolder(null)}>
                  Annuler
                </button>
              </div>
            </form>
          )}
        </nav>
        <section className="mail-list" aria-labelledby="mail-list-title">
          <div className="mail-list-head">
            <h2 id="mail-list-title">{listTitle}</h2>
            {current && !current.system && !search && (
              <button type="button" className="button button-small button-danger" onClick={() => deleteFolder(current)}>
                Supprimer le dossier
              </button>
            )}
          </div>
          {items === null ? (
            <Spinner />
          ) : items.length === 0 ? (
            <Empty>{search ? 'Aucun message ne correspond à cette recherche.' : 'Aucun message dans ce dossier.'}</Empty>
          ) : (
            <ul className="mail-items">
              {items.map((m) => (
                <li key={m.id}>
                  <button
                    type="button"
                    className={`mail-item ${m.read ? '' : 'unread'} ${m.id === selected ? 'active' : ''}`}
                    aria-current={m.id === selected ? 'true' : undefined}
                    onClick={() => go({ message: m.id })}
                  >
                    <span className="mail-item-top">
                      <span className="mail-from">
                        {!m.read && <span className="dot" aria-hidden="true" />}
                        {m.state === 'draft'
                          ? 'Brouillon'
                          : m.my_role === 'sender'
                            ? m.recipients && m.recipients.length > 0
                              ? `À : ${names(m.recipients)}`
                              : 'Moi'
                            : m.sender.name}
                      </span>
                      <span className="mail-date">{relTime(m.sent_at ?? m.at)}</span>
                    </span>
                    <span className="mail-subject">
                      {!m.read && <span className="visually-hidden">Non lu : </span>}
                      {m.subject || '(sans objet)'}
                    </span>
                    {m.preview && <span className="mail-preview">{m.preview}</span>}
                    <span className="mail-flags">
                      {m.ack_required && (
                        <span className={`tag ${m.acked || m.my_role === 'sender' ? 'tag-green' : 'tag-amber'}`}>
                          {m.my_role === 'sender' ? 'Accusé de lecture demandé' : m.acked ? 'Lecture confirmée' : 'À confirmer'}
                        </span>
                      )}
                      {m.state === 'scheduled' && <span className="tag tag-amber">Programmé {fmtDateTime(m.send_at)}</span>}
                      {(m.attachments ?? 0) > 0 && <span className="tag tag-file">{filesLabel(m.attachments ?? 0)}</span>}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          {next && (
            <button type="button" className="button button-small" onClick={() => loadList(next)}>
              Afficher plus de messages
            </button>
          )}
        </section>
        <section className="mail-pane" aria-label="Lecture du message">
          {selected ? (
            <MessageView
              key={selected}
              id={selected}
              onBack={() => go({ message: null })}
              onChanged={(text, leave) => {
                if (text) setStatus(text);
                if (leave) go({ message: null });
                refresh();
              }}
              onCompose={setCompose}
              folders={folders ?? []}
            />
          ) : (
            <p className="empty mail-pane-empty">Choisissez un message dans la liste pour le lire.</p>
          )}
        </section>
      </div>
      {compose && <ComposeDialog mode={compose} onClose={() => { setCompose(null); refresh(); }} onDone={afterSent} />}
      {settingsOpen && (
        <SettingsDialog
          onClose={(text) => {
            setSettingsOpen(false);
            if (text) setStatus(text);
          }}
        />
      )}
      {reportsOpen && <ReportsDialog onClose={() => setReportsOpen(false)} />}
    </>
  );
}

function MessageView({
  id,
  onBack,
  onChanged,
  onCompose,
  folders,
}: {
  id: string;
  onBack: () => void;
  onChanged: (status: string | null, leave?: boolean) => void;
  onCompose: (m: ComposeMode) => void;
  folders: MessageFolder[];
}) {
  const { api, download } = useApi();
  const { hasRole } = useAuth();
  const [m, setM] = useState<Message | null>(null);
  const [reportAsk, setReportAsk] = useState(false);
  const [thread, setThread] = useState<Message[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [recallAsk, setRecallAsk] = useState(false);
  const [recall, setRecall] = useState<RecallResult | null>(null);
  const [moveTo, setMoveTo] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    try {
      let msg = await api<Message>(`/api/messages/${id}`);
      if (!msg.read && msg.my_role !== 'sender' && msg.state === 'sent') {
        await api(`/api/messages/${id}/read`, { method: 'PUT' });
        msg = { ...msg, read: true };
        onChanged(null);
      }
      setM(msg);
      if (msg.in_reply_to) {
        const t = await api<MessageThread>(`/api/messages/threads/${msg.thread_id}`);
        setThread((t.items as Message[]).filter((x) => x.id !== msg.id));
      }
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? "Ce message n'existe plus (supprimé ou rappelé par son expéditeur)." : mailError(e));
    }
    // onChanged changes with the page's state; the message is read once.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, id]);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => {
    if (m) heading.current?.focus({ preventScroll: false });
  }, [m?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const act = async (fn: () => Promise<unknown>, text: string, leave = false) => {
    setError(null);
    try {
      await fn();
      onChanged(text, leave);
      if (!leave) load();
    } catch (e) {
      setError(mailError(e));
    }
  };

  const back = (
    <button type="button" className="button button-small mail-back" onClick={onBack}>
      ← Retour à la liste
    </button>
  );
  if (error && !m)
    return (
      <div className="mail-message">
        {back}
        <Alert>{error}</Alert>
      </div>
    );
  if (!m) return <Spinner />;

  const mine = m.my_role === 'sender';
  const sentAt = m.sent_at ? Date.parse(m.sent_at) : 0;
  const canRecall = mine && m.state === 'sent' && !m.recalled_at && Date.now() - sentAt < RECALL_MS;
  const ownFolders = folders.filter((f) => !f.system && f.id !== m.folder);
  const inTrash = m.folder === 'trash';

  return (
    <article className="mail-message" aria-labelledby="mail-subject">
      {back}
      <h2 id="mail-subject" ref={heading} tabIndex={-1}>
        {m.subject || '(sans objet)'}
      </h2>
      {error && <Alert>{error}</Alert>}
      <dl className="details mail-head">
        <dt>De</dt>
        <dd>{m.sender.name}</dd>
        {m.to.length > 0 && (
          <>
            <dt>À</dt>
            <dd>{names(m.to)}</dd>
          </>
        )}
        {m.cc.length > 0 && (
          <>
            <dt>Cc</dt>
            <dd>{names(m.cc)}</dd>
          </>
        )}
        {m.bcc.length > 0 && (
          <>
            <dt>Cci</dt>
            <dd>{names(m.bcc)}</dd>
          </>
        )}
        <dt>{m.state === 'draft' ? 'Modifié' : m.state === 'scheduled' ? 'Envoi prévu' : 'Envoyé'}</dt>
        <dd>{fmtDateTime(m.state === 'scheduled' ? m.send_at : m.sent_at ?? m.updated_at ?? m.created_at)}</dd>
        {m.my_role === 'bcc' && (
          <>
            <dt>Vous</dt>
            <dd>en copie cachée</dd>
          </>
        )}
      </dl>
      {m.recalled_at && <Alert kind="info">Vous avez rappelé ce message le {fmtDateTime(m.recalled_at)}.</Alert>}
      {m.ack_required && !mine && (
        <div className={`ack-box ${m.acked_at ? 'ack-done' : ''}`}>
          {m.acked_at ? (
            <p>Vous avez confirmé la lecture le {fmtDateTime(m.acked_at)}.</p>
          ) : (
            <>
              <p>
                <strong>Accusé de lecture demandé :</strong> {m.sender.name} vous demande de confirmer que vous avez lu ce message.
              </p>
              <button
                type="button"
                className="button button-primary"
                onClick={() => act(() => api(`/api/messages/${m.id}/ack`, { method: 'POST' }), 'Lecture confirmée.')}
              >
                Confirmer la lecture
              </button>
            </>
          )}
        </div>
      )}
      <div className="mail-body">{m.body}</div>
      {m.attachments && m.attachments.length > 0 && (
        <section className="mail-files" aria-labelledby="mail-files-title">
          <h3 id="mail-files-title">Pièces jointes ({m.attachments.length})</h3>
          <ul>
            {m.attachments.map((f) => (
              <li key={f.id}>
                <button
                  type="button"
                  className="link-button"
                  onClick={() => download(`/api/fichiers/${f.id}/content`, f.name).catch((e) => setError(mailError(e)))}
                >
                  Télécharger {f.name}
                </button>{' '}
                <span className="muted small">{fmtSize(f.size)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {thread.length > 0 && (
        <details className="mail-thread">
          <summary>Messages précédents de la conversation ({thread.length})</summary>
          <ol>
            {thread.map((t) => (
              <li key={t.id}>
                <p className="small muted">
                  {t.sender.name} — {fmtDateTime(t.sent_at ?? t.created_at)}
                </p>
                <p className="mail-body small">{t.body}</p>
              </li>
            ))}
          </ol>
        </details>
      )}
      {mine && m.state === 'sent' && <ReceiptsPanel message={m} canRemind={hasRole('enseignant', 'admin')} />}
      {recall && (
        <Alert kind="info">
          {recall.recalled.length > 0 && <p>Message retiré chez : {recall.recalled.map((p) => p.name).join(', ')}.</p>}
          {recall.already_read.length > 0 && <p>Déjà lu (le message reste chez eux) : {recall.already_read.map((p) => p.name).join(', ')}.</p>}
          {recall.recalled.length === 0 && recall.already_read.length === 0 && <p>Rappel effectué.</p>}
        </Alert>
      )}
      <div className="mail-actions">
        {m.state === 'draft' ? (
          <>
            <button type="button" className="button button-primary" onClick={() => onCompose({ kind: 'draft', message: m })}>
              Reprendre le brouillon
            </button>
            <button type="button" className="button button-danger" onClick={() => act(() => api(`/api/messages/${m.id}`, { method: 'DELETE' }), 'Brouillon supprimé.', true)}>
              Supprimer le brouillon
            </button>
          </>
        ) : m.state === 'scheduled' ? (
          <button type="button" className="button button-danger" onClick={() => act(() => api(`/api/messages/${m.id}`, { method: 'DELETE' }), 'Envoi programmé annulé.', true)}>
            Annuler l'envoi programmé
          </button>
        ) : (
          <>
            {!mine && (
              <button type="button" className="button" onClick={() => onCompose({ kind: 'reply', message: m, all: false })}>
                Répondre
              </button>
            )}
            <button type="button" className="button" onClick={() => onCompose({ kind: 'reply', message: m, all: true })}>
              Répondre à tous
            </button>
            <button type="button" className="button" onClick={() => onCompose({ kind: 'forward', message: m })}>
              Transférer
            </button>
            {!mine && (
              <button type="button" className="button" onClick={() => act(() => api(`/api/messages/${m.id}/read`, { method: 'DELETE' }), 'Message marqué comme non lu.', true)}>
                Marquer comme non lu
              </button>
            )}
            {inTrash ? (
              <>
                <button type="button" className="button" onClick={() => act(() => api(`/api/messages/${m.id}/restore`, { method: 'POST' }), 'Message restauré.', true)}>
                  Restaurer
                </button>
                <button type="button" className="button button-danger" onClick={() => act(() => api(`/api/messages/${m.id}`, { method: 'DELETE' }), 'Message supprimé définitivement.', true)}>
                  Supprimer définitivement
                </button>
              </>
            ) : (
              <button type="button" className="button button-danger" onClick={() => act(() => api(`/api/messages/${m.id}`, { method: 'DELETE' }), 'Message mis à la corbeille.', true)}>
                Supprimer
              </button>
            )}
            {!mine && !reportAsk && (
              <button type="button" className="button button-ghost" onClick={() => setReportAsk(true)}>
                Signaler
              </button>
            )}
            {canRecall && !recallAsk && (
              <button type="button" className="button button-danger" onClick={() => setRecallAsk(true)}>
                Rappeler le message
              </button>
            )}
          </>
        )}
      </div>
      {recallAsk && (
        <div className="confirm-box" role="group" aria-label="Rappeler le message">
          <p>Le message sera retiré de la boîte de ceux qui ne l'ont pas encore lu. Ceux qui l'ont lu le gardent.</p>
          <div className="form-actions">
            <button
              type="button"
              className="button button-danger"
              autoFocus
              onClick={async () => {
                setRecallAsk(false);
                try {
                  setRecall(await api<RecallResult>(`/api/messages/${m.id}/recall`, { method: 'POST' }));
                  onChanged('Message rappelé.');
                  load();
                } catch (e) {
                  setError(mailError(e));
                }
              }}
            >
              Confirmer le rappel
            </button>
            <button type="button" className="button" onClick={() => setRecallAsk(false)}>
              Annuler
            </button>
          </div>
        </div>
      )}
      {reportAsk && (
        <ReportForm
          id={m.id}
          onClose={(text) => {
            setReportAsk(false);
            if (text) onChanged(text);
          }}
        />
      )}
      {m.state === 'sent' && !inTrash && (
        <form
          className="inline-form mail-move"
          onSubmit={(e) => {
            e.preventDefault();
            if (!moveTo) return;
            const name = folders.find((f) => f.id === moveTo)?.name ?? moveTo;
            act(() => api(`/api/messages/${m.id}/move`, { method: 'POST', json: { folder: moveTo } }), `Message déplacé dans « ${name} ».`, true);
          }}
        >
          <div className="field">
            <label htmlFor="mail-move">Déplacer vers</label>
            <select id="mail-move" value={moveTo} onChange={(e) => setMoveTo(e.target.value)}>
              <option value="">Choisir un dossier…</option>
              {m.folder !== 'inbox' && m.folder !== 'sent' && <option value={mine ? 'sent' : 'inbox'}>{mine ? 'Envoyés' : 'Boîte de réception'}</option>}
              {ownFolders.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button" disabled={!moveTo}>
            Déplacer
          </button>
        </form>
      )}
    </article>
  );
}

type Settings = {
  email_forward: { available?: boolean; enabled?: boolean; address?: string | null; account_email?: string | null };
  out_of_office: { from?: string; until?: string; text?: string; active?: boolean } | null;
  quiet_hours: { start?: string; end?: string; active?: boolean; until?: string | null } | null;
  waiting_notifications: number;
};

/** The user's settings: forwarding by e-mail, an absence with its automatic answer, quiet hours. */
function SettingsDialog({ onClose }: { onClose: (status: string | null) => void }) {
  const { api } = useApi();
  const [st, setSt] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fwd, setFwd] = useState(false);
  const [address, setAddress] = useState('');
  const [away, setAway] = useState(false);
  const [awayFrom, setAwayFrom] = useState(parisDay());
  const [awayTo, setAwayTo] = useState(addDays(parisDay(), 7));
  const [awayText, setAwayText] = useState('');
  const [quiet, setQuiet] = useState(false);
  const [quietStart, setQuietStart] = useState('20:00');
  const [quietEnd, setQuietEnd] = useState('07:00');
  useEffect(() => {
    api<Settings>('/api/messages/settings')
      .then((s) => {
        setSt(s);
        setFwd(!!s.email_forward.enabled);
        setAddress(s.email_forward.address ?? '');
        if (s.out_of_office?.from && s.out_of_office.until) {
          setAway(true);
          setAwayFrom(parisDay(s.out_of_office.from));
          setAwayTo(addDays(parisDay(s.out_of_office.until), -1));
          setAwayText(s.out_of_office.text ?? '');
        }
        if (s.quiet_hours?.start && s.quiet_hours.end) {
          setQuiet(true);
          setQuietStart(s.quiet_hours.start);
          setQuietEnd(s.quiet_hours.end);
        }
      })
      .catch((e) => setError(mailError(e)));
  }, [api]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api('/api/messages/settings', {
        method: 'PUT',
        json: {
          ...(st?.email_forward.available || !fwd ? { email_forward: { enabled: fwd, address: address.trim() || null } } : {}),
          out_of_office: away ? { from: parisToUtc(awayFrom, '00:00'), until: parisToUtc(addDays(awayTo, 1), '00:00'), text: awayText } : null,
          quiet_hours: quiet ? { start: quietStart, end: quietEnd } : null,
        },
      });
      onClose('Réglages enregistrés.');
    } catch (err) {
      setError(mailError(err));
    }
  };
  return (
    <Dialog title="Réglages de la messagerie" onClose={() => onClose(null)} wide>
      {!st ? (
        error ? <Alert>{error}</Alert> : <Spinner />
      ) : (
        <form className="form mail-settings" onSubmit={save}>
          {error && <Alert>{error}</Alert>}
          <fieldset>
            <legend>Transfert par courriel</legend>
            {st.email_forward.available ? (
              <>
                <label className="check">
                  <input type="checkbox" checked={fwd} onChange={(e) => setFwd(e.target.checked)} />
                  Recevoir aussi mes nouveaux messages par courriel
                </label>
                <div className="field">
                  <label htmlFor="fwd-address">Adresse (vide : celle de mon compte{st.email_forward.account_email ? `, ${st.email_forward.account_email}` : ''})</label>
                  <input id="fwd-address" type="email" maxLength={254} value={address} disabled={!fwd} onChange={(e) => setAddress(e.target.value)} />
                </div>
              </>
            ) : (
              <p className="muted small">Ce serveur n'envoie pas de courriels.</p>
            )}
          </fieldset>
          <fieldset>
            <legend>Message d'absence</legend>
            <label className="check">
              <input type="checkbox" checked={away} onChange={(e) => setAway(e.target.checked)} />
              Répondre automatiquement pendant mon absence (une fois par expéditeur)
            </label>
            {away && (
              <>
                <div className="form-row">
                  <div className="field">
                    <label htmlFor="away-from">Du</label>
                    <input id="away-from" type="date" required value={awayFrom} onChange={(e) => setAwayFrom(e.target.value)} />
                  </div>
                  <div className="field">
                    <label htmlFor="away-to">Au (inclus)</label>
                    <input id="away-to" type="date" required value={awayTo} onChange={(e) => setAwayTo(e.target.value)} />
                  </div>
                </div>
                <div className="field">
                  <label htmlFor="away-text">Réponse automatique</label>
                  <textarea id="away-text" rows={4} maxLength={2000} required value={awayText} onChange={(e) => setAwayText(e.target.value)} />
                </div>
              </>
            )}
          </fieldset>
          <fieldset>
            <legend>Heures calmes</legend>
            <label className="check">
              <input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} />
              Retenir les notifications de nouveaux messages pendant ces heures
            </label>
            {quiet && (
              <div className="form-row">
                <div className="field">
                  <label htmlFor="quiet-start">De</label>
                  <input id="quiet-start" type="time" required value={quietStart} onChange={(e) => setQuietStart(e.target.value)} />
                </div>
                <div className="field">
                  <label htmlFor="quiet-end">À</label>
                  <input id="quiet-end" type="time" required value={quietEnd} onChange={(e) => setQuietEnd(e.target.value)} />
                </div>
              </div>
            )}
            {st.waiting_notifications > 0 && (
              <p className="muted small">
                {st.waiting_notifications} notification{st.waiting_notifications > 1 ? 's attendent' : ' attend'} la fin des heures calmes.
              </p>
            )}
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="button button-primary">
              Enregistrer
            </button>
            <button type="button" className="button button-ghost" onClick={() => onClose(null)}>
              Annuler
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

type Report = {
  id: string;
  message: { id?: string; subject?: string; body?: string };
  sender: { id?: string; name?: string; suspended?: boolean };
  reporter: { id: string; name: string };
  reason: string;
  comment?: string | null;
  status: string;
  created_at: string;
};
const REASONS: Record<string, string> = { harassment: 'Harcèlement', spam: 'Indésirable', inappropriate: 'Contenu inapproprié', other: 'Autre' };

/** The administrators' view of reported messages: close a report, suspend or restore a sender. */
function ReportsDialog({ onClose }: { onClose: () => void }) {
  const { api } = useApi();
  const [items, setItems] = useState<Report[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const load = useCallback(() => {
    api<List<Report>>('/api/messages/reports?status=open')
      .then((r) => setItems(r.items))
      .catch((e) => setError(mailError(e)));
  }, [api]);
  useEffect(load, [load]);
  const act = async (fn: () => Promise<unknown>, text: string) => {
    setError(null);
    try {
      await fn();
      setStatus(text);
      load();
    } catch (e) {
      setError(mailError(e));
    }
  };
  return (
    <Dialog title="Messages signalés" onClose={onClose} wide>
      <p className="mail-status" role="status">
        {status}
      </p>
      {error && <Alert>{error}</Alert>}
      {items === null ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty>Aucun signalement en attente.</Empty>
      ) : (
        <ul className="report-list">
          {items.map((r) => (
            <li key={r.id}>
              <h3>{r.message.subject || '(sans objet)'}</h3>
              <p className="small muted">
                De {r.sender.name}
                {r.sender.suspended ? ' (envoi suspendu)' : ''}, signalé par {r.reporter.name} le {fmtDateTime(r.created_at)} : {REASONS[r.reason] ?? r.reason}
              </p>
              {r.comment && <p className="small">« {r.comment} »</p>}
              <div className="mail-body small">{r.message.body}</div>
              <div className="form-actions">
                <button
                  type="button"
                  className={`button button-small ${r.sender.suspended ? '' : 'button-danger'}`}
                  onClick={() =>
                    act(
                      () =>
                        api(`/api/messages/senders/${r.sender.id}`, {
                          method: 'PUT',
                          json: r.sender.suspended ? { suspended: false } : { suspended: true, reason: `message signalé (${(REASONS[r.reason] ?? r.reason).toLowerCase()})` },
                        }),
                      r.sender.suspended ? `Envoi de ${r.sender.name} rétabli.` : `Envoi de ${r.sender.name} suspendu.`,
                    )
                  }
                >
                  {r.sender.suspended ? `Rétablir l'envoi de ${r.sender.name}` : `Suspendre l'envoi de ${r.sender.name}`}
                </button>
                <button
                  type="button"
                  className="button button-small"
                  onClick={() => act(() => api(`/api/messages/reports/${r.id}`, { method: 'PATCH', json: { status: 'closed' } }), 'Signalement clos.')}
                >
                  Clore le signalement
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}

/** Reporting a received message to the administrators (harassment, spam...). */
function ReportForm({ id, onClose }: { id: string; onClose: (status: string | null) => void }) {
  const { api } = useApi();
  const [reason, setReason] = useState('harassment');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api(`/api/messages/${id}/report`, { method: 'POST', json: { reason, comment: comment.trim() || null } });
      onClose("Message signalé à l'administration.");
    } catch (err) {
      setError(mailError(err));
    }
  };
  return (
    <form className="confirm-box form" onSubmit={submit} aria-label="Signaler le message">
      <p>L'administration verra ce message et votre signalement. L'expéditeur n'en est pas informé.</p>
      {error && <Alert>{error}</Alert>}
      <div className="field">
        <label htmlFor="report-reason">Motif</label>
        <select id="report-reason" value={reason} onChange={(e) => setReason(e.target.value)} autoFocus>
          <option value="harassment">Harcèlement</option>
          <option value="inappropriate">Contenu inapproprié</option>
          <option value="spam">Indésirable (spam)</option>
          <option value="other">Autre</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="report-comment">Commentaire (facultatif)</label>
        <textarea id="report-comment" rows={3} maxLength={1000} value={comment} onChange={(e) => setComment(e.target.value)} />
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-danger">
          Signaler
        </button>
        <button type="button" className="button" onClick={() => onClose(null)}>
          Annuler
        </button>
      </div>
    </form>
  );
}

/** The sender's view: who read, who confirmed an announcement, and the reminder to the others. */
function ReceiptsPanel({ message, canRemind }: { message: Message; canRemind: boolean }) {
  const { api } = useApi();
  const [r, setR] = useState<Receipts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const load = useCallback(() => {
    api<Receipts>(`/api/messages/${message.id}/receipts`)
      .then(setR)
      .catch((e) => setError(mailError(e)));
  }, [api, message.id]);
  useEffect(load, [load]);
  if (error) return <Alert>{error}</Alert>;
  if (!r) return null;
  const ack = message.ack_required;
  const done = r.items.filter((x) => (ack ? x.acked_at : x.read_at));
  const pending = r.items.filter((x) => !(ack ? x.acked_at : x.read_at));
  return (
    <section className="receipts" aria-labelledby="receipts-title">
      <h3 id="receipts-title">{ack ? 'Accusés de lecture' : 'Lecture'}</h3>
      <p>
        {ack ? (
          <>
            <strong>
              {r.acked} sur {r.recipients}
            </strong>{' '}
            ont confirmé la lecture ({r.read} l'ont ouvert).
          </>
        ) : (
          <>
            Lu par <strong>{r.read}</strong> sur {r.recipients} destinataire{r.recipients > 1 ? 's' : ''}.
          </>
        )}
      </p>
      {info && <Alert kind="success">{info}</Alert>}
      <div className="receipts-lists">
        <div>
          <h4>{ack ? `N'ont pas confirmé (${pending.length})` : `Pas encore lu (${pending.length})`}</h4>
          {pending.length ? (
            <ul className="compact" data-testid="receipts-pending">
              {pending.map((x) => (
                <li key={x.user.id}>
                  {x.user.name}
                  {ack && x.read_at && <span className="muted small"> — ouvert, non confirmé</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small">Personne.</p>
          )}
        </div>
        <div>
          <h4>{ack ? `Ont confirmé (${done.length})` : `Ont lu (${done.length})`}</h4>
          {done.length ? (
            <ul className="compact" data-testid="receipts-done">
              {done.map((x) => (
                <li key={x.user.id}>
                  {x.user.name} <span className="muted small">— {fmtDateTime(ack ? x.acked_at : x.read_at)}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small">Personne pour l'instant.</p>
          )}
        </div>
      </div>
      <div className="form-actions">
        <button type="button" className="button button-small" onClick={load}>
          Actualiser
        </button>
        {ack && canRemind && pending.length > 0 && (
          <button
            type="button"
            className="button button-small button-primary"
            onClick={async () => {
              try {
                const x = await api<{ reminded: number }>(`/api/messages/${message.id}/remind`, { method: 'POST' });
                setInfo(`Rappel envoyé à ${x.reminded} destinataire${x.reminded > 1 ? 's' : ''}.`);
                load();
              } catch (e) {
                setError(mailError(e));
              }
            }}
          >
            Relancer ceux qui n'ont pas confirmé
          </button>
        )}
      </div>
    </section>
  );
}

const toChosen = (list: Address[]): Chosen[] => list.map((a) => ({ type: a.type, id: a.id, name: a.name }));
const toRefs = (list: Chosen[]) => list.map((a) => (a.id ? { type: a.type, id: a.id } : { type: a.type }));

function ComposeDialog({ mode, onClose, onDone }: { mode: ComposeMode; onClose: () => void; onDone: (status: string) => void }) {
  const { api } = useApi();
  const { hasRole } = useAuth();
  const src = mode.kind === 'new' ? null : mode.message;
  const [draftId, setDraftId] = useState<string | null>(mode.kind === 'draft' ? mode.message.id : null);
  const [to, setTo] = useState<Chosen[]>(mode.kind === 'draft' ? toChosen(mode.message.to) : []);
  const [cc, setCc] = useState<Chosen[]>(mode.kind === 'draft' ? toChosen(mode.message.cc) : []);
  const [bcc, setBcc] = useState<Chosen[]>(mode.kind === 'draft' ? toChosen(mode.message.bcc) : []);
  const [showCc, setShowCc] = useState(mode.kind === 'draft' && (mode.message.cc.length > 0 || mode.message.bcc.length > 0));
  const [subject, setSubject] = useState(mode.kind === 'draft' ? mode.message.subject : '');
  const [body, setBody] = useState(mode.kind === 'draft' ? mode.message.body : '');
  const [ack, setAck] = useState(mode.kind === 'draft' ? mode.message.ack_required : false);
  const [files, setFiles] = useState<Attached[]>(mode.kind === 'draft' ? (mode.message.attachments ?? []) : []);
  const [uploads, setUploads] = useState<Uploading[]>([]);
  const fileIds = files.map((f) => f.id);
  const [error, setError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<Record<string, boolean>>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const staff = hasRole('enseignant', 'admin');
  const reply = mode.kind === 'reply' ? mode : null;
  const title =
    mode.kind === 'reply' ? (mode.all ? 'Répondre à tous' : 'Répondre') : mode.kind === 'forward' ? 'Transférer' : mode.kind === 'draft' ? 'Brouillon' : 'Nouveau message';

  const fail = (e: unknown) => {
    setError(mailError(e));
    const fields: Record<string, boolean> = {};
    if (e instanceof ApiError) for (const k of Object.keys(e.problem.errors ?? {})) fields[k.split(/[.[]/)[0]] = true;
    setInvalid(fields);
  };

  const fields = () => ({ subject, body, to: toRefs(to), cc: toRefs(cc), bcc: toRefs(bcc), ack_required: staff ? ack : false, attachments: fileIds });

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      let d: Message;
      if (draftId) {
        d = await api<Message>(`/api/messages/${draftId}`, {
          method: 'PATCH',
          json: reply ? { body, attachments: fileIds } : mode.kind === 'forward' ? { body, to: toRefs(to), cc: toRefs(cc), bcc: toRefs(bcc), attachments: fileIds } : fields(),
        });
      } else if (reply) {
        d = await api<Message>(`/api/messages/${reply.message.id}/reply`, { method: 'POST', json: { body, all: reply.all, draft: true, attachments: fileIds } });
      } else if (mode.kind === 'forward') {
        d = await api<Message>(`/api/messages/${mode.message.id}/forward`, {
          method: 'POST',
          json: { body, to: toRefs(to), cc: toRefs(cc), bcc: toRefs(bcc), draft: true, attachments: fileIds },
        });
      } else {
        d = await api<Message>('/api/messages', { method: 'POST', json: { ...fields(), draft: true } });
      }
      setDraftId(d.id);
      // A forward's draft carries the original's attachments: they are listed from now on.
      setFiles(d.attachments ?? []);
      setSaved(`Brouillon enregistré à ${new Date().toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' })}.`);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const needsTo = !reply;
    if (needsTo && to.length + cc.length + bcc.length === 0) {
      setError('Indiquez au moins un destinataire.');
      setInvalid({ to: true });
      return;
    }
    if (!reply && mode.kind !== 'forward' && !draftId && !subject.trim()) {
      setError("Indiquez l'objet du message.");
      setInvalid({ subject: true });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (draftId) {
        // A reply or forward saved as a draft is a draft like the others from then on.
        await api(`/api/messages/${draftId}`, {
          method: 'PATCH',
          json: reply ? { body, attachments: fileIds } : mode.kind === 'forward' ? { body, to: toRefs(to), cc: toRefs(cc), bcc: toRefs(bcc), attachments: fileIds } : fields(),
        });
        await api(`/api/messages/${draftId}/send`, { method: 'POST', json: {} });
      } else if (reply) {
        await api(`/api/messages/${reply.message.id}/reply`, { method: 'POST', json: { body, all: reply.all, attachments: fileIds } });
      } else if (mode.kind === 'forward') {
        await api(`/api/messages/${mode.message.id}/forward`, { method: 'POST', json: { body, to: toRefs(to), cc: toRefs(cc), bcc: toRefs(bcc), attachments: fileIds } });
      } else {
        await api('/api/messages', { method: 'POST', json: fields() });
      }
      onDone('Message envoyé.');
    } catch (err) {
      fail(err);
      setBusy(false);
    }
  };

  const replyTo = reply ? [reply.message.sender.name, ...(reply.all ? [...reply.message.to, ...reply.message.cc].map((a) => a.name) : [])] : [];

  return (
    <Dialog title={title} onClose={onClose} wide>
      <form className="form compose" onSubmit={send} noValidate>
        {error && <Alert>{error}</Alert>}
        {saved && (
          <p className="muted small" role="status">
            {saved}
          </p>
        )}
        {reply ? (
          <p className="compose-to">
            <strong>À :</strong> {[...new Set(replyTo)].join(', ')}
            <br />
            <strong>Objet :</strong> {reply.message.subject.startsWith('RE : ') ? reply.message.subject : `RE : ${reply.message.subject}`}
          </p>
        ) : (
          <>
            <RecipientField label="À" value={to} onChange={setTo} invalid={invalid.to} autoFocus />
            {showCc ? (
              <>
                <RecipientField label="Cc" value={cc} onChange={setCc} invalid={invalid.cc} />
                <RecipientField label="Cci (copie cachée)" value={bcc} onChange={setBcc} invalid={invalid.bcc} />
              </>
            ) : (
              <button type="button" className="link-button compose-cc" onClick={() => setShowCc(true)}>
                Ajouter Cc ou Cci
              </button>
            )}
            {mode.kind === 'forward' && src ? (
              <p className="compose-to">
                <strong>Objet :</strong> TR : {src.subject}
              </p>
            ) : (
              <div className="field">
                <label htmlFor="compose-subject">Objet</label>
                <input id="compose-subject" maxLength={200} value={subject} aria-invalid={invalid.subject || undefined} onChange={(e) => setSubject(e.target.value)} />
              </div>
            )}
          </>
        )}
        <div className="field">
          <label htmlFor="compose-body">Message</label>
          <textarea id="compose-body" rows={9} maxLength={50000} value={body} aria-invalid={invalid.body || undefined} onChange={(e) => setBody(e.target.value)} data-autofocus={reply ? true : undefined} />
          {mode.kind === 'forward' && (
            <span className="muted small">
              Le message d'origine est ajouté à la suite{!draftId && src?.attachments?.length ? `, avec ses ${filesLabel(src.attachments.length)}` : ''}.
            </span>
          )}
        </div>
        <AttachmentsField id="compose-files" className="compose-files" files={files} onChange={setFiles} uploads={uploads} setUploads={setUploads} onError={fail} invalid={invalid.attachments} />
        {staff && !reply && mode.kind !== 'forward' && (
          <label className="check">
            <input type="checkbox" checked={ack} onChange={(e) => setAck(e.target.checked)} />
            Accusé de lecture demandé (chaque destinataire confirme avoir lu)
          </label>
        )}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy || uploads.length > 0}>
            Envoyer
          </button>
          <button type="button" className="button" onClick={save} disabled={busy || uploads.length > 0}>
            Enregistrer le brouillon
          </button>
          <button type="button" className="button button-ghost" onClick={onClose}>
            Annuler
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The navigation's badge: the inbox's unread count, kept live by the stream. */
export function MailNavBadge() {
  const { hasService } = useAuth();
  const { unread } = useMailLive(hasService('messagerie'));
  if (!unread) return null;
  return (
    <span className="nav-badge" data-testid="mail-badge">
      {unread}
      <span className="visually-hidden"> non lu{unread > 1 ? 's' : ''}</span>
    </span>
  );
}

/** The dashboard tile's badge: the same count. */
export function MailTileBadge() {
  const { hasService } = useAuth();
  const { unread } = useMailLive(hasService('messagerie'));
  return unread ? <span className="tile-badge">{unread} message{unread > 1 ? 's' : ''} non lu{unread > 1 ? 's' : ''}</span> : null;
}
