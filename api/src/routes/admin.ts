import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import {
  deleteSessionsOf,
  deleteUserAccount,
  getStreamWithStreamer,
  getUserSummary,
  insertAdminLog,
  insertInvite,
  insertPasswordReset,
  listAdminLog,
  listStreamsByStatus,
  searchUsers,
  setUserAdmin,
  setUserDisabled,
  setUserMayStream,
  writeSiteSetting,
  type Db,
  type UserSummary,
} from '@redred/db';
import { AppError } from '../errors.ts';
import { hashToken, newSessionToken } from '../auth/tokens.ts';
import { endStream } from '../live/lifecycle.ts';
import { adminEndReason } from '../live/stream-rules.ts';
import {
  AdminLogBody,
  AdminStreamListBody,
  AdminUserBody,
  AdminUserListBody,
  CreateInviteRequest,
  InviteBody,
  DeleteUserBody,
  DeleteUserRequest,
  DisableUserRequest,
  EndStreamRequest,
  LogoutUserBody,
  ResetLinkBody,
  SetFlagRequest,
  SiteSettingsPatch,
  SiteSettingsSchema,
  UserSearchQuery,
} from '../protocol/admin.ts';
import { ErrorBody, IdParams, StreamBody } from '../protocol/rest.ts';
import { toStreamInfo } from './streams.ts';


/** A reset link is good for a day: long enough to hand over, short enough to go stale. */
const RESET_LINK_TTL_MS = 24 * 3600 * 1000;
const USER_PAGE = 50;
const LOG_PAGE = 100;
/** An invite code is good for a week unless the admin says otherwise. */
const INVITE_DEFAULT_HOURS = 7 * 24;

export interface AdminRoutesOptions {
  now: () => number;
  publicUrl: string | undefined;
}

/**
 * The site admin's REST API. Every route asks the site gate first (`siteGate.actor`),
 * and every change is written with its audit entry in one transaction.
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const gate = app.siteGate;

  async function userOr404(db: Db, id: number): Promise<UserSummary> {
    const user = await getUserSummary(db, id);
    if (!user || user.deletedAt !== null) throw new AppError('user_not_found', `no user ${id}`);
    return user;
  }

  r.get('/api/admin/streams', { schema: { response: { 200: AdminStreamListBody, '4xx': ErrorBody } } }, async (request) => {
    await gate.actor(request.user, 'view_admin');
    const rows = await listStreamsByStatus(app.db, ['waiting', 'live']);
    return { streams: rows.map((s) => toStreamInfo(s, app.rooms.get(s.id)?.viewers.count)) };
  });

  r.post('/api/admin/streams/:id/end', { schema: { params: IdParams, body: EndStreamRequest, response: { 200: StreamBody, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'end_any_stream');
    const id = Number(request.params.id);
    const reason = (request.body.reason ?? '').trim();
    const stream = await getStreamWithStreamer(app.db, id);
    if (!stream) throw new AppError('stream_not_found', 'no such stream');
    if (stream.status === 'ended') throw new AppError('stream_ended', 'this stream has already ended', { statusCode: 409 });
    const { alreadyEnded } = await endStream(app.liveContext, app.rooms.get(id), id, adminEndReason(reason));
    if (!alreadyEnded) await insertAdminLog(app.db, { actorId: admin.id, action: 'stream_ended', targetUserId: stream.streamer_id, targetStreamId: id, reason, now: opts.now() });
    return { stream: toStreamInfo((await getStreamWithStreamer(app.db, id))!) };
  });

  r.get('/api/admin/users', { schema: { querystring: UserSearchQuery, response: { 200: AdminUserListBody, '4xx': ErrorBody } } }, async (request) => {
    await gate.actor(request.user, 'manage_users');
    return { users: await searchUsers(app.db, { query: (request.query.q ?? '').trim(), limit: USER_PAGE }) };
  });

  r.post('/api/admin/users/:id/disable', { schema: { params: IdParams, body: DisableUserRequest, response: { 200: AdminUserBody, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'manage_users');
    const id = Number(request.params.id);
    if (id === admin.id) throw new AppError('invalid_target', 'you cannot disable your own account');
    const { disabled, reason = '' } = request.body;
    const user = await app.db.transaction().execute(async (trx) => {
      await userOr404(trx, id);
      await setUserDisabled(trx, id, disabled ? opts.now() : null);
      if (disabled) await deleteSessionsOf(trx, id);
      await insertAdminLog(trx, { actorId: admin.id, action: disabled ? 'user_disabled' : 'user_enabled', targetUserId: id, reason, now: opts.now() });
      return userOr404(trx, id);
    });
    // Sessions ended in the database; sockets opened with them close too.
    if (disabled) app.rooms.signOutEverywhere(id, 'account disabled');
    return { user };
  });

  r.post('/api/admin/users/:id/delete', { schema: { params: IdParams, body: DeleteUserRequest, response: { 200: DeleteUserBody, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'manage_users');
    const id = Number(request.params.id);
    if (id === admin.id) throw new AppError('invalid_target', 'you cannot delete your own account');
    const { deleteComments, reason = '' } = request.body;
    const result = await app.db.transaction().execute(async (trx) => {
      const before = await userOr404(trx, id);
      const res = await deleteUserAccount(trx, id, { now: opts.now(), deleteComments, deletedBy: admin.id });
      await insertAdminLog(trx, { actorId: admin.id, action: 'user_deleted', targetUserId: id, reason, details: { username: before.username, deleteComments, commentsDeleted: res.commentsDeleted }, now: opts.now() });
      return { user: (await getUserSummary(trx, id))!, commentsDeleted: res.commentsDeleted };
    });
    app.rooms.signOutEverywhere(id, 'account deleted');
    return result;
  });

  r.post('/api/admin/users/:id/logout', { schema: { params: IdParams, response: { 200: LogoutUserBody, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'manage_users');
    const id = Number(request.params.id);
    const result = await app.db.transaction().execute(async (trx) => {
      await userOr404(trx, id);
      const sessionsEnded = await deleteSessionsOf(trx, id);
      await insertAdminLog(trx, { actorId: admin.id, action: 'user_logged_out', targetUserId: id, details: { sessionsEnded }, now: opts.now() });
      return { sessionsEnded };
    });
    app.rooms.signOutEverywhere(id, 'signed out');
    return result;
  });

  r.post('/api/admin/users/:id/reset-link', { schema: { params: IdParams, response: { 200: ResetLinkBody, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'manage_users');
    const id = Number(request.params.id);
    const token = newSessionToken();
    const now = opts.now();
    const expiresAt = now + RESET_LINK_TTL_MS;
    await app.db.transaction().execute(async (trx) => {
      await userOr404(trx, id);
      await insertPasswordReset(trx, { tokenHash: hashToken(token), userId: id, createdBy: admin.id, now, expiresAt });
      await insertAdminLog(trx, { actorId: admin.id, action: 'reset_link_created', targetUserId: id, now });
    });
    // The token rides in the fragment: browsers never send it to a server or a proxy log.
    const origin = (opts.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
    return { url: `${origin}/reset-password#token=${token}`, expiresAt };
  });

  const flagRoute = (path: string, action: 'manage_users' | 'approve_streamers', set: (db: Db, id: number, v: boolean) => Promise<boolean>, logAs: (v: boolean) => string) =>
    r.post(path, { schema: { params: IdParams, body: SetFlagRequest, response: { 200: AdminUserBody, '4xx': ErrorBody } } }, async (request) => {
      const admin = await gate.actor(request.user, action);
      const id = Number(request.params.id);
      const user = await app.db.transaction().execute(async (trx) => {
        await userOr404(trx, id);
        await set(trx, id, request.body.value);
        await insertAdminLog(trx, { actorId: admin.id, action: logAs(request.body.value), targetUserId: id, now: opts.now() });
        return userOr404(trx, id);
      });
      return { user };
    });
  flagRoute('/api/admin/users/:id/admin', 'manage_users', setUserAdmin, (v) => (v ? 'admin_granted' : 'admin_revoked'));
  flagRoute('/api/admin/users/:id/may-stream', 'approve_streamers', setUserMayStream, (v) => (v ? 'streamer_approved' : 'streamer_unapproved'));

  r.get('/api/admin/settings', { schema: { response: { 200: SiteSettingsSchema, '4xx': ErrorBody } } }, async (request) => {
    await gate.actor(request.user, 'view_admin');
    return gate.settings();
  });

  r.patch('/api/admin/settings', { schema: { body: SiteSettingsPatch, response: { 200: SiteSettingsSchema, '4xx': ErrorBody } } }, async (request) => {
    const admin = await gate.actor(request.user, 'manage_site_settings');
    await app.db.transaction().execute(async (trx) => {
      for (const [name, value] of Object.entries(request.body)) {
        if (value === undefined) continue;
        await writeSiteSetting(trx, { name, value, updatedBy: admin.id, now: opts.now() });
      }
      await insertAdminLog(trx, { actorId: admin.id, action: 'settings_changed', details: request.body, now: opts.now() });
    });
    return gate.settings();
  });

  r.post('/api/admin/invites', { schema: { body: CreateInviteRequest, response: { 201: InviteBody, '4xx': ErrorBody } } }, async (request, reply) => {
    const admin = await gate.actor(request.user, 'create_invites');
    const code = newSessionToken().slice(0, 22);
    const now = opts.now();
    const expiresAt = now + (request.body.validHours ?? INVITE_DEFAULT_HOURS) * 3600 * 1000;
    await app.db.transaction().execute(async (trx) => {
      await insertInvite(trx, { codeHash: hashToken(code), createdBy: admin.id, now, expiresAt });
      await insertAdminLog(trx, { actorId: admin.id, action: 'invite_created', details: { expiresAt }, now });
    });
    reply.code(201);
    return { code, expiresAt };
  });

  r.get('/api/admin/log', { schema: { response: { 200: AdminLogBody, '4xx': ErrorBody } } }, async (request) => {
    await gate.actor(request.user, 'view_admin');
    const rows = await listAdminLog(app.db, LOG_PAGE);
    return {
      entries: rows.map((e) => ({
        id: e.id,
        action: e.action,
        actor: e.actor_username,
        targetUser: e.target_username,
        targetStreamId: e.target_stream_id,
        reason: e.reason,
        details: JSON.parse(e.details) as Record<string, unknown>,
        createdAt: e.created_at,
      })),
    };
  });
}
