import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { initAuth } from './lib/auth';
import { App } from './App';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
initAuth()
  .then(() =>
    root.render(
      <StrictMode>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </StrictMode>,
    ),
  )
  .catch(() => {
    // Said in French without the browser's words ("Failed to fetch" …).
    root.render(
      <main className="login-page">
        <div className="login-card" role="alert">
          <h1>Portail indisponible</h1>
          <p>Le portail ne peut pas joindre le serveur ENT : vérifiez votre connexion, puis rechargez la page.</p>
        </div>
      </main>,
    );
  });
