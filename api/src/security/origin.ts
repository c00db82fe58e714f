import type { FastifyRequest } from 'fastify';

/**
 * Same-origin by default: the Origin's host must be the Host the request was sent
 * to, or one of the configured origins. Used for WebSocket upgrades (browsers send
 * cookies cross-site on upgrades) and for cookie-authenticated writes (CSRF).
 */
export function isOriginAllowed(request: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (allowedOrigins.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return url.host === request.headers.host;
  } catch {
    return false;
  }
}
