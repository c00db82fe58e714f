import { ConfigError } from '../config-error.ts';

/**
 * PUBLIC_URL: the origin browsers type, e.g. `https://live.example.com`. Behind a
 * reverse proxy the server cannot know it (the proxy may rewrite `Host`, and it
 * always turns https into http), so origin checks, CSRF checks, `Secure`
 * cookies and absolute links take it from here. Only an origin: the app is
 * served at the root of its host, so a path is refused rather than ignored.
 */
export function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute URL such as https://live.example.com, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`PUBLIC_URL must start with https:// (or http://), got "${raw}"`);
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    throw new ConfigError(`PUBLIC_URL must be an origin only (scheme, host, optional port), without path, query or credentials; got "${raw}"`);
  }
  return url.origin;
}

/** An absolute URL on the public origin, for links that leave the page (logs, headers, CLI output). */
export function publicLink(publicUrl: string, path: string): string {
  return new URL(path, publicUrl).href;
}
