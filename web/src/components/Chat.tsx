// The assistant's conversation as the user sees it, in the side panel and on the /chat page: the
// questions and their answers (streamed as they come, with "Réflexion…" until the first words),
// citations as links that open the document at its page, "Je ne sais pas" with the FAQ and a
// ticket, thumbs up or down with an optional comment, and the question field.
//
// Screen readers: the conversation is a log (aria-live polite); an answer is aria-busy while it
// streams, so that it is read once, whole, rather than word by word.
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useChat, type ChatSource, type ChatTurn } from '../lib/chat';
import { Alert, errorText } from './ui';

const CITATION = /\[(\d+)\](?: \((.*?), page (\d+)\))?/g;

/** The answer's text with each citation "[n] (titre, page p)" made a link to its source. */
export function AnswerText({ text, sources }: { text: string; sources: ChatSource[] }) {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(CITATION)) {
    const src = sources.find((s) => s.n === Number(m[1]));
    if (!src || !src.link.startsWith('/')) continue;
    parts.push(text.slice(last, m.index));
    parts.push(
      <Link key={m.index} to={src.link} className="cite" data-testid="citation">
        [{src.n}] {src.title}, page {src.page}
      </Link>,
    );
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return <div className="chat-answer-text">{parts}</div>;
}

function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" style={down ? { transform: 'rotate(180deg)' } : undefined}>
      <path fill="currentColor" d="M2 21h4V9H2zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1.2-.7z" />
    </svg>
  );
}

/** Thumbs up or down (sent at once), then an optional comment. */
function Feedback({ turn }: { turn: ChatTurn }) {
  const { feedback } = useChat();
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const field = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (commenting) field.current?.focus();
  }, [commenting]);

  const rate = async (rating: 'up' | 'down') => {
    setError(null);
    try {
      await feedback(turn, rating, turn.comment);
      setStatus('Merci pour votre avis.');
      setCommenting(true);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const sendComment = async (e: FormEvent) => {
    e.preventDefault();
    if (!turn.feedback) return;
    setError(null);
    try {
      await feedback(turn, turn.feedback, comment.trim() || null);
      setCommenting(false);
      setComment('');
      setStatus('Merci, votre commentaire a été envoyé.');
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <div className="chat-feedback">
      <div className="chat-thumbs" role="group" aria-label="Votre avis sur cette réponse">
        <button type="button" className="icon-button chat-thumb" aria-pressed={turn.feedback === 'up'} onClick={() => rate('up')}>
          <Thumb />
          <span className="visually-hidden">Réponse utile</span>
        </button>
        <button type="button" className="icon-button chat-thumb" aria-pressed={turn.feedback === 'down'} onClick={() => rate('down')}>
          <Thumb down />
          <span className="visually-hidden">Réponse pas utile</span>
        </button>
        <span className="small muted" role="status">
          {status}
        </span>
      </div>
      {turn.comment && !commenting && <p className="small muted chat-comment">Votre commentaire : « {turn.comment} »</p>}
      {error && <Alert>{error}</Alert>}
      {commenting && (
        <form className="chat-comment-form" onSubmit={sendComment}>
          <label htmlFor={`${id}-comment`}>Un commentaire ? (facultatif)</label>
          <textarea id={`${id}-comment`} ref={field} rows={2} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
          <div className="form-actions">
            <button type="submit" className="button button-small button-primary">
              Envoyer le commentaire
            </button>
            <button type="button" className="button button-small" onClick={() => setCommenting(false)}>
              Non merci
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function Turn({ turn }: { turn: ChatTurn }) {
  const streaming = turn.state === 'thinking' || turn.state === 'streaming';
  return (
    <li className="chat-turn" data-testid="chat-turn">
      <div className="chat-question">
        <span className="visually-hidden">Vous : </span>
        {turn.question}
      </div>
      <div className={`chat-answer ${turn.answered ? '' : 'chat-unknown'}`} aria-busy={streaming} data-testid="chat-answer" data-state={turn.state}>
        <span className="visually-hidden">Assistant : </span>
        {turn.state === 'thinking' && (
          <p className="chat-thinking">
            <span className="spinner-dot" aria-hidden="true" />
            Réflexion…
          </p>
        )}
        {turn.state === 'error' ? (
          <p className="text-error" role="alert">
            {turn.error}
          </p>
        ) : (
          turn.answer && <AnswerText text={turn.answer} sources={turn.sources} />
        )}
        {turn.state === 'done' && !turn.answered && turn.suggestions.length > 0 && (
          <ul className="chat-suggestions" aria-label="Pour trouver la réponse ailleurs">
            {turn.suggestions.map((s) => (
              <li key={s.link}>
                <Link to={s.link} className="button button-small">
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </div>
      {turn.state === 'done' && turn.id && <Feedback turn={turn} />}
    </li>
  );
}

/** The conversation and the question field. `autoFocus`: the field gets the focus when shown (the panel). */
export function ChatConversation({ autoFocus = false }: { autoFocus?: boolean }) {
  const { turns, busy, ask, newConversation } = useChat();
  const [question, setQuestion] = useState('');
  const id = useId();
  const end = useRef<HTMLDivElement>(null);
  const last = turns[turns.length - 1];

  // Keep the newest words in view as they arrive.
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: 'nearest' });
  }, [turns.length, last?.answer, last?.state]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const q = question.trim();
    if (!q || busy) return;
    setQuestion('');
    ask(q);
  };
  // Enter sends, Shift+Enter goes to a new line (as in messaging applications).
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const status = last?.state === 'thinking' ? 'Réflexion…' : last?.state === 'streaming' ? "L'assistant répond…" : '';

  return (
    <div className="chat">
      <span className="visually-hidden" role="status">
        {status}
      </span>
      <div className="chat-scroll">
        {turns.length === 0 ? (
          <div className="chat-intro">
            <p>
              Posez une question sur vos cours : l'assistant répond à partir des documents de vos cours et indique d'où vient chaque passage
              (document et page).
            </p>
            <p className="small muted">Quand vos documents ne contiennent pas la réponse, il le dit et vous propose la FAQ ou une demande d'assistance.</p>
          </div>
        ) : null}
        <div role="log" aria-live="polite" aria-label="Conversation avec l'assistant">
          <ol className="chat-turns">
            {turns.map((t) => (
              <Turn key={t.key} turn={t} />
            ))}
          </ol>
        </div>
        <div ref={end} />
      </div>
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor={`${id}-q`} className="visually-hidden">
          Votre question
        </label>
        <textarea
          id={`${id}-q`}
          rows={2}
          maxLength={2000}
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={onKey}
          placeholder="Votre question sur un cours…"
          aria-describedby={`${id}-help`}
          {...(autoFocus ? { 'data-autofocus': true } : {})}
        />
        <div className="chat-form-actions">
          <span id={`${id}-help`} className="small muted">
            Entrée pour envoyer, Maj+Entrée pour aller à la ligne.
          </span>
          {turns.length > 0 && (
            <button type="button" className="button button-small" onClick={newConversation}>
              Nouvelle conversation
            </button>
          )}
          <button type="submit" className="button button-primary button-small" disabled={busy || !question.trim()}>
            Envoyer
          </button>
        </div>
      </form>
    </div>
  );
}
