import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';

/** A random first-party id for anonymous visitors: viewers and unique viewers count people, so a reload counts once. */
export const VISITOR_COOKIE = 'redred_vid';
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;
const ONE_YEAR_S = 365 * 24 * 3600;

declare module 'fastify' {
  interface FastifyRequest {
    /** The visitor's id cookie, when it is well formed (it is only ever a counting key, never an identity). */
    visitorId: string | null;
  }
}

/**
 * Reads the visitor cookie on every request and hands out one on GET responses
 * that lack it. It carries nothing but 128 random bits, is never tied
 * to an account, and only decides what counts as one anonymous viewer.
 */
export const visitorPlugin = fp<{ secureCookies: boolean }>(
  async (app, opts) => {
    app.decorateRequest('visitorId', null);
    app.addHook('onRequest', async (request, reply) => {
      const raw = request.cookies[VISITOR_COOKIE];
      if (raw !== undefined && VISITOR_ID.test(raw)) {
        request.visitorId = raw;
        return;
      }
      // Handed out on reads (the page load before any socket); a WebSocket upgrade cannot set one,
      // and writes (sign-up, login) keep their own Set-Cookie alone.
      if (request.method !== 'GET' || request.headers.upgrade) return;
      const id = randomBytes(16).toString('base64url');
      request.visitorId = id;
      reply.setCookie(VISITOR_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, maxAge: ONE_YEAR_S });
    });
  },
  { name: 'redred-visitor', dependencies: ['@fastify/cookie'] },
);
