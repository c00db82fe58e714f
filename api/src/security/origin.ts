import type { FastifyRequest } from 'fastify';

export interface OriginPolicy {
  /** PUBLIC_URL's origin: what browsers send as `Origin` behind a proxy that rewrites `Host`. */
  publicUrl: string | undefined;
  allowedOrigins: readonly string[];
}

/**
 * Same-origin by default: the Origin must be PUBLIC_URL's origin, one of the
 * configured origins, or name the Host the request was sent to (direct access,
 * or a proxy that keeps `Host`). Used for WebSocket upgrades (browsers send
 * cookies cross-site on upgrades) and for cookie-authenticated writes (CSRF).
 */
export function isOriginAllowed(request: FastifyRequest, policy: OriginPolicy): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (origin === policy.publicUrl || policy.allowedOrigins.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return url.host === request.headers.host;
  } catch {
    return false;
  }
}
