// The assistant from every page: a button in the top bar opens the conversation in a side panel
// (a modal <dialog>: the focus goes to the question field and stays in the panel, Escape closes
// it and the focus comes back to the button; full screen on a phone). Following a link of the
// panel (a citation, the FAQ, the history) closes it. Not shown on /chat, which is the same
// conversation at full size.
import { useState, type MouseEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { useChat } from '../lib/chat';
import { ChatConversation } from './Chat';
import { Dialog } from './Dialog';

export function ChatButton() {
  const { available, busy } = useChat();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  if (!available || location.pathname === '/chat') return null;

  // A link followed inside the panel closes it (not one opened in another tab). On the way up
  // (bubbling), after the link's own handler has navigated: closing on the way down would remove
  // the link before it handles the click, and the browser would load the page again.
  const onClick = (e: MouseEvent) => {
    const a = (e.target as Element).closest('a[href]');
    if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0 && a.getAttribute('target') !== '_blank') setOpen(false);
  };

  return (
    <>
      <button type="button" className="button button-ghost chat-open" aria-haspopup="dialog" onClick={() => setOpen(true)} data-testid="chat-open">
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9zm4 0v2h2V9zm4 0v2h2V9z"
          />
        </svg>
        <span className="chat-open-label">Assistant</span>
        {busy && <span className="visually-hidden"> (réponse en cours)</span>}
      </button>
      {open && (
        <Dialog
          title="Assistant de cours"
          className="dialog-side"
          onClose={() => setOpen(false)}
          actions={
            <Link to="/chat" className="button button-small button-ghost" onClick={() => setOpen(false)}>
              Historique
            </Link>
          }
        >
          <div className="chat-panel-body" onClick={onClick}>
            <ChatConversation autoFocus />
          </div>
        </Dialog>
      )}
    </>
  );
}
