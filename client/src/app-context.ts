import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Router } from './router.tsx';
import type { SessionState } from './state/session.ts';

export interface AppServices {
  router: Router;
  session: SessionState;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp() outside <AppContext.Provider>');
  return app;
}
