import { signal } from '@preact/signals';
import type { ComponentChildren, JSX } from 'preact';
import { useApp } from './app-context.ts';

export type Route =
  | { name: 'home' }
  | { name: 'login'; next: string }
  | { name: 'signup'; next: string }
  | { name: 'studio' }
  | { name: 'admin' }
  | { name: 'channel'; username: string }
  | { name: 'embed'; username: string }
  | { name: 'reset_password' }
  | { name: 'watch'; streamId: number }
  | { name: 'not_found' };

/** Only same-site paths may be a post-login destination (no open redirect). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function matchRoute(pathname: string, search: string): Route {
  const params = new URLSearchParams(search);
  if (pathname === '/' || pathname === '') return { name: 'home' };
  if (pathname === '/login') return { name: 'login', next: safeNext(params.get('next')) };
  if (pathname === '/signup') return { name: 'signup', next: safeNext(params.get('next')) };
  if (pathname === '/studio' || pathname === '/studio/') return { name: 'studio' };
  if (pathname === '/admin' || pathname === '/admin/') return { name: 'admin' };
  if (pathname === '/reset-password') return { name: 'reset_password' };
  const channel = /^\/(c|embed)\/([^/]{1,64})\/?$/.exec(pathname);
  if (channel) {
    let username: string;
    try {
      username = decodeURIComponent(channel[2]!);
    } catch {
      return { name: 'not_found' }; // a malformed %-escape
    }
    return { name: channel[1] === 'c' ? 'channel' : 'embed', username };
  }
  const watch = /^\/live\/([1-9][0-9]{0,15})\/?$/.exec(pathname);
  if (watch) return { name: 'watch', streamId: Number(watch[1]) };
  return { name: 'not_found' };
}

/** A history-API router: the current route as a signal, `navigate()` to move. */
export function createRouter(win: Window) {
  const route = signal<Route>(matchRoute(win.location.pathname, win.location.search));
  const sync = () => {
    route.value = matchRoute(win.location.pathname, win.location.search);
  };
  win.addEventListener('popstate', sync);
  return {
    route,
    navigate(to: string, { replace = false }: { replace?: boolean } = {}) {
      if (replace) win.history.replaceState(null, '', to);
      else win.history.pushState(null, '', to);
      sync();
      win.scrollTo(0, 0);
    },
    dispose() {
      win.removeEventListener('popstate', sync);
    },
  };
}

export type Router = ReturnType<typeof createRouter>;

type LinkProps = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href'> & { href: string; children?: ComponentChildren };

/** An `<a>` that navigates in-app on a plain click and stays a real link otherwise (new tab, copy). */
export function Link({ href, onClick, ...rest }: LinkProps) {
  const { router } = useApp();
  return (
    <a
      href={href}
      onClick={(event) => {
        if (typeof onClick === 'function') onClick(event);
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        router.navigate(href);
      }}
      {...rest}
    />
  );
}
