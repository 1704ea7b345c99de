// /chat: the assistant at full size. The current conversation (the same as the side panel's, see
// lib/chat.tsx) and the history of the user's questions (GET /chatbot/history, newest first, with
// their answers, citations and the user's feedback); a conversation of the history can be taken
// up again; "Supprimer mon historique" deletes it all after a confirmation.
import { useCallback, useEffect, useState } from 'react';
import { useApi, type List } from '../lib/api';
import { useChat } from '../lib/chat';
import { fmtDateTime } from '../lib/format';
import type { ChatInteraction } from '../lib/types';
import { AnswerText, ChatConversation } from '../components/Chat';
import { Dialog } from '../components/Dialog';
import { Alert, Card, Empty, PageTitle, Spinner, errorText } from '../components/ui';

export function ChatPage() {
  const { deleteHistory } = useChat();
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    setError(null);
    try {
      await deleteHistory();
      setConfirming(false);
      setStatus('Votre historique a été supprimé.');
    } catch (e) {
      setConfirming(false);
      setError(errorText(e));
    }
  };

  return (
    <>
      <PageTitle title="Assistant">
        <button type="button" className="button button-danger" onClick={() => setConfirming(true)}>
          Supprimer mon historique
        </button>
      </PageTitle>
      <p className="lead">Des réponses tirées des documents de vos cours, avec leurs sources.</p>
      {error && <Alert>{error}</Alert>}
      {status && <Alert kind="success">{status}</Alert>}
      <div className="grid-2 grid-wide-first chat-page">
        <Card title="Conversation" className="chat-card">
          <ChatConversation />
        </Card>
        <History onOpened={() => setStatus(null)} />
      </div>
      {confirming && (
        <Dialog title="Supprimer mon historique" onClose={() => setConfirming(false)}>
          <p>Toutes vos questions à l'assistant et ses réponses seront supprimées, ainsi que vos avis. Cette action est définitive.</p>
          <div className="form-actions">
            <button type="button" className="button button-danger" onClick={remove}>
              Supprimer définitivement
            </button>
            <button type="button" className="button" onClick={() => setConfirming(false)} data-autofocus>
              Annuler
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

const FEEDBACK: Record<string, string> = { up: 'Réponse utile', down: 'Réponse pas utile' };

function History({ onOpened }: { onOpened: () => void }) {
  const { api } = useApi();
  const { historyVersion, openConversation, conversationId } = useChat();
  const [items, setItems] = useState<ChatInteraction[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor?: string) => {
      try {
        const r = await api<List<ChatInteraction>>(`/chatbot/history?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        setItems((old) => (cursor && old ? [...old, ...r.items] : r.items));
        setNext(r.next_cursor ?? null);
        setError(null);
      } catch (e) {
        setError(errorText(e));
        setItems((old) => old ?? []);
      }
    },
    [api],
  );
  useEffect(() => {
    load();
  }, [load, historyVersion]);

  const open = async (id: string) => {
    try {
      await openConversation(id);
      onOpened();
      document.querySelector<HTMLTextAreaElement>('.chat-form textarea')?.focus();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <Card title="Historique" className="chat-history">
      {error && <Alert>{error}</Alert>}
      {items === null ? (
        <Spinner />
      ) : items.length === 0 ? (
        <Empty>Vous n'avez encore posé aucune question.</Empty>
      ) : (
        <ul className="chat-history-list" aria-label="Vos questions, des plus récentes aux plus anciennes" data-testid="chat-history">
          {items.map((i) => (
            <li key={i.id}>
              <details>
                <summary>
                  <span className="chat-history-q">{i.question}</span>
                  <span className="small muted">
                    {fmtDateTime(i.created_at)}
                    {!i.answered && ' · sans réponse'}
                    {i.feedback && ` · ${FEEDBACK[i.feedback]}`}
                  </span>
                </summary>
                <div className="chat-history-body">
                  <AnswerText text={i.answer} sources={i.sources} />
                  {i.feedback && (
                    <p className="small">
                      Votre avis : <strong>{FEEDBACK[i.feedback]}</strong>
                      {i.comment && <> — « {i.comment} »</>}
                    </p>
                  )}
                  {i.conversation_id !== conversationId && (
                    <button type="button" className="button button-small" onClick={() => open(i.conversation_id)}>
                      Reprendre cette conversation
                    </button>
                  )}
                </div>
              </details>
            </li>
          ))}
        </ul>
      )}
      {next && (
        <button type="button" className="button button-small" onClick={() => load(next)}>
          Afficher plus
        </button>
      )}
    </Card>
  );
}
