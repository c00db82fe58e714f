import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { findSessionUser } from '@redred/db';
import { AppError } from '../errors.ts';
import { hashToken, tokenFromRequest } from '../auth/tokens.ts';

export interface AuthUser {
  id: number;
  username: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, or null for anonymous visitors (and expired or forged tokens). */
    user: AuthUser | null;
    /** How the user authenticated: cookie-authenticated writes get the CSRF check. */
    authVia: 'bearer' | 'cookie' | null;
    sessionTokenHash: string | null;
  }
}

export function requireUser(request: Pick<FastifyRequest, 'user'>): AuthUser {
  if (!request.user) throw new AppError('unauthorized', 'sign in first');
  return request.user;
}

/** Resolves the session on every request; never trusts anything the client claims about itself. */
export const authPlugin = fp<{ now: () => number }>(
  async (app, opts) => {
    app.decorateRequest('user', null);
    app.decorateRequest('authVia', null);
    app.decorateRequest('sessionTokenHash', null);
    app.addHook('onRequest', async (request) => {
      const found = tokenFromRequest(request.headers, request.cookies ?? {});
      if (!found) return;
      const tokenHash = hashToken(found.token);
      const session = await findSessionUser(app.db, tokenHash, opts.now());
      if (!session) return;
      request.user = { id: session.userId, username: session.username };
      request.authVia = found.via;
      request.sessionTokenHash = tokenHash;
    });
  },
  { name: 'redred-auth', dependencies: ['redred-db', '@fastify/cookie'] },
);
