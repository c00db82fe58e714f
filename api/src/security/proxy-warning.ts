import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { OriginPolicy } from './origin.ts';

/**
 * A reverse proxy the server was not told about: browsers reach us at one
 * origin (`https://live.example.com`) while requests arrive for another
 * (`http://127.0.0.1:8080`, the proxy's upstream). Without PUBLIC_URL every
 * WebSocket and every signed-in write is then refused as cross-origin, and
 * the session cookie is not `Secure`.
 *
 * Nothing is visible before the first request, so the server watches requests
 * until it has seen the evidence once, and says so once. Evidence it trusts:
 * - `Sec-Fetch-Site: same-origin` with an `Origin` or `Referer`: the browser
 *   itself states that the page's origin is the one it sent the request to, and
 *   no web page can forge these headers. Browsers send them to https origins,
 *   which is where capture (and so this app) works.
 * - `X-Forwarded-Host` from a loopback or private address (a proxy on this
 *   machine or network): covers proxies that rewrite `Host` over plain http.
 * A cross-site request (an attack) carries neither, so it never warns.
 */
export interface OriginMismatch {
  /** The origin the browser used. */
  browserOrigin: string;
  /** The origin as this server sees it: its own scheme and the `Host` header. */
  serverOrigin: string;
  evidence: 'sec-fetch-site' | 'x-forwarded-host';
  /** The proxy changed `Host`: origin checks fail, not only `Secure` cookies. */
  hostRewritten: boolean;
}

export interface SeenRequest {
  headers: IncomingHttpHeaders;
  /** TLS on this server's own socket (never true behind a TLS-terminating proxy). */
  encrypted: boolean;
  /** The TCP peer's address. */
  peer: string | undefined;
}

function originOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** Loopback, RFC 1918 and unique-local addresses (IPv4-mapped IPv6 included). */
export function isLocalAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  return isIPv6(address) && (address === '::1' || /^f[cd]/i.test(address));
}

/** The browser's origin when it differs from PUBLIC_URL, the allowed origins and what this server sees; else null. */
export function unexpectedBrowserOrigin(request: SeenRequest, policy: OriginPolicy): OriginMismatch | null {
  const { headers } = request;
  const host = headers.host;
  if (!host) return null;
  const serverOrigin = `${request.encrypted ? 'https' : 'http'}://${host}`;
  let browserOrigin: string | undefined;
  let evidence: OriginMismatch['evidence'];
  const forwardedHost = typeof headers['x-forwarded-host'] === 'string' ? headers['x-forwarded-host'].split(',')[0]!.trim() : undefined;
  if (headers['sec-fetch-site'] === 'same-origin') {
    browserOrigin = originOf(headers.origin) ?? originOf(headers.referer);
    evidence = 'sec-fetch-site';
  } else if (forwardedHost && isLocalAddress(request.peer)) {
    const proto = typeof headers['x-forwarded-proto'] === 'string' ? headers['x-forwarded-proto'].split(',')[0]!.trim() : 'http';
    browserOrigin = originOf(`${proto}://${forwardedHost}`);
    evidence = 'x-forwarded-host';
  } else {
    return null;
  }
  if (!browserOrigin || browserOrigin === policy.publicUrl || policy.allowedOrigins.includes(browserOrigin)) return null;
  // Same spelling as the browser's: URL drops default ports and lower-cases the host.
  const seen = originOf(serverOrigin) ?? serverOrigin;
  if (browserOrigin === seen) return null;
  return { browserOrigin, serverOrigin: seen, evidence, hostRewritten: new URL(browserOrigin).host !== new URL(seen).host };
}

/** Watches requests until the first sign of an undeclared or misdeclared proxy, and logs one warning. */
export function warnOnUndeclaredProxy(app: FastifyInstance, policy: OriginPolicy): void {
  let warned = false;
  const log = app.log.child({ module: 'proxy' });
  app.addHook('onRequest', async (request) => {
    if (warned) return;
    const mismatch = unexpectedBrowserOrigin(
      { headers: request.headers, encrypted: 'encrypted' in request.raw.socket, peer: request.raw.socket.remoteAddress },
      policy,
    );
    if (!mismatch) return;
    warned = true;
    const consequence = mismatch.hostRewritten
      ? 'WebSockets and signed-in writes from that origin are refused as cross-origin (403)'
      : 'the session cookie is not marked Secure';
    const fix = policy.publicUrl
      ? `PUBLIC_URL is ${policy.publicUrl}: set it to ${mismatch.browserOrigin}, or add that origin to ALLOWED_ORIGINS`
      : `set PUBLIC_URL=${mismatch.browserOrigin}`;
    log.warn(
      { ...mismatch, publicUrl: policy.publicUrl ?? null },
      `browsers reach this server at ${mismatch.browserOrigin} but it receives requests for ${mismatch.serverOrigin} (a reverse proxy ${mismatch.hostRewritten ? 'rewrites Host' : 'terminates TLS'}): ${consequence}. Fix: ${fix} (docs/deployment.md)`,
    );
  });
}
