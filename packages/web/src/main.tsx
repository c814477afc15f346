import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { registerServiceWorker } from './lib/service-worker.js';
import './styles/theme.css';
import './styles/layout.css';
import './styles/conversation.css';
import './styles/forms.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// The service worker makes the app start offline and shows notifications.
registerServiceWorker();
