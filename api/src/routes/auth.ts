import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createUser, deleteSession, findUserByUsername, insertSession, redeemPasswordReset, usernameKey } from '@redred/db';
import { AppError } from '../errors.ts';
import { decoyPasswordHash, hashPassword, validatePassword, validateUsername, verifyPassword } from '../auth/credentials.ts';
import { SESSION_COOKIE, hashToken, newSessionToken } from '../auth/tokens.ts';
import { requireUser } from '../plugins/auth.ts';
import { SlidingWindowLimiter } from '../security/rateLimiter.ts';
import { ResetPasswordRequest } from '../protocol/admin.ts';
import { Credentials, ErrorBody, MeBody, NoContent, RegisterRequest, SessionBody, SiteInfoBody } from '../protocol/rest.ts';

/** Login/register limits: guessing is slow per account and per address, a typo is not punished. */
const AUTH_LIMITS = {
  failuresPerUsername: 10,
  failuresPerIp: 30,
  failureWindowMs: 15 * 60 * 1000,
  registrationWindowMs: 60 * 60 * 1000,
} as const;

export interface AuthRoutesOptions {
  now: () => number;
  sessionTtlMs: number;
  secureCookies: boolean;
  registrationsPerIpPerHour: number;
}

export async function authRoutes(app: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const failuresByUser = new SlidingWindowLimiter(AUTH_LIMITS.failuresPerUsername, AUTH_LIMITS.failureWindowMs);
  const failuresByIp = new SlidingWindowLimiter(AUTH_LIMITS.failuresPerIp, AUTH_LIMITS.failureWindowMs);
  const registrations = new SlidingWindowLimiter(opts.registrationsPerIpPerHour, AUTH_LIMITS.registrationWindowMs);
  const pruneTimer = setInterval(() => {
    const now = opts.now();
    failuresByUser.prune(now);
    failuresByIp.prune(now);
    registrations.prune(now);
  }, 60_000);
  pruneTimer.unref();
  app.addHook('onClose', async () => clearInterval(pruneTimer));

  const limited = (retryAfterMs: number): AppError =>
    new AppError('rate_limited', 'too many attempts; try again later', { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) });

  async function startSession(reply: FastifyReply, user: { id: number; username: string }) {
    const token = newSessionToken();
    const now = opts.now();
    const expiresAt = now + opts.sessionTtlMs;
    await insertSession(app.db, { tokenHash: hashToken(token), userId: user.id, now, expiresAt });
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: opts.secureCookies,
      expires: new Date(expiresAt),
    });
    return { user: { id: user.id, username: user.username }, token, expiresAt };
  }

  r.get('/api/site', { schema: { response: { 200: SiteInfoBody } } }, async () => ({ registration: (await app.siteGate.settings()).registration }));

  r.post('/api/auth/register', { schema: { body: RegisterRequest, response: { 201: SessionBody, '4xx': ErrorBody } } }, async (request, reply) => {
    const { username: rawName, password, inviteCode } = request.body;
    const username = validateUsername(rawName);
    validatePassword(password);
    const gate = registrations.take(request.ip, opts.now());
    if (!gate.ok) throw limited(gate.retryAfterMs);
    const passwordHash = await hashPassword(password);
    const created = await app.db.transaction().execute(async (trx) => {
      const res = await createUser(trx, { username, passwordHash, now: opts.now() });
      // The site's REGISTRATION rule, with the account's row in hand: a refusal rolls it back.
      if (res.ok) await app.siteGate.admitRegistration(trx, { userId: res.user.id, inviteCode, now: opts.now() });
      return res;
    });
    if (!created.ok) throw new AppError('username_taken', `the username "${username}" is taken`);
    reply.code(201);
    return startSession(reply, created.user);
  });

  r.post('/api/auth/login', { schema: { body: Credentials, response: { 200: SessionBody, '4xx': ErrorBody } } }, async (request, reply) => {
    const { username, password } = request.body;
    const now = opts.now();
    const userKey = usernameKey(username.trim());
    for (const check of [failuresByUser.check(userKey, now), failuresByIp.check(request.ip, now)]) {
      if (!check.ok) {
        reply.header('retry-after', Math.ceil(check.retryAfterMs / 1000));
        throw limited(check.retryAfterMs);
      }
    }
    const user = await findUserByUsername(app.db, username.trim());
    const ok = await verifyPassword(user?.password_hash ?? (await decoyPasswordHash()), password);
    if (!user || !ok) {
      failuresByUser.take(userKey, now);
      failuresByIp.take(request.ip, now);
      throw new AppError('invalid_credentials', 'wrong username or password');
    }
    failuresByUser.reset(userKey);
    // Said only to someone who knows the password: a stranger learns nothing about the account.
    if (user.disabled_at !== null) throw new AppError('account_disabled', 'this account has been disabled by a site admin');
    return startSession(reply, user);
  });

  r.post('/api/auth/logout', { schema: { response: { 204: NoContent } } }, async (request, reply) => {
    if (request.sessionTokenHash) await deleteSession(app.db, request.sessionTokenHash);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  r.get('/api/auth/me', { schema: { response: { 200: MeBody, '4xx': ErrorBody } } }, async (request) => {
    const user = requireUser(request);
    return { user, admin: (await app.siteGate.siteRole(user)) === 'admin' };
  });

  // The one-time link a site admin made (routes/admin.ts): a new password, every session ended.
  r.post('/api/auth/reset-password', { schema: { body: ResetPasswordRequest, response: { 204: NoContent, '4xx': ErrorBody } } }, async (request, reply) => {
    validatePassword(request.body.password);
    const passwordHash = await hashPassword(request.body.password);
    const done = await app.db.transaction().execute((trx) => redeemPasswordReset(trx, { tokenHash: hashToken(request.body.token), passwordHash, now: opts.now() }));
    if (!done) throw new AppError('invalid_reset_token', 'this reset link is unknown, used or expired; ask an admin for a new one');
    // Every session ended: sockets opened with them close too, on every node.
    app.rooms.signOutEverywhere(done.userId, 'password reset');
    return reply.code(204).send(null);
  });
}
