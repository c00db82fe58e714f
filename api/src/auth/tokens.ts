import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'redred_session';

/** 256 random bits, URL-safe. Only its SHA-256 is stored. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The session token from `Authorization: Bearer …` or the session cookie. Bearer wins. */
export function tokenFromRequest(headers: { authorization?: string | undefined }, cookies: Record<string, string | undefined>): { token: string; via: 'bearer' | 'cookie' } | null {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+([A-Za-z0-9_-]{16,128})$/.exec(auth);
    if (m?.[1]) return { token: m[1], via: 'bearer' };
  }
  const cookie = cookies[SESSION_COOKIE];
  if (cookie && /^[A-Za-z0-9_-]{16,128}$/.test(cookie)) return { token: cookie, via: 'cookie' };
  return null;
}
