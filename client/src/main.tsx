import { render } from 'preact';
import { App } from './app.tsx';
import { AppContext } from './app-context.ts';
import { createRouter } from './router.tsx';
import { createSessionState } from './state/session.ts';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');

const router = createRouter(window);
const session = createSessionState();
void session.load();

render(
  <AppContext.Provider value={{ router, session }}>
    <App />
  </AppContext.Provider>,
  root,
);
