import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { AdminLogEntry, User } from './schema.ts';

/** A user as the admin page lists them. */
export interface UserSummary {
  id: number;
  username: string;
  createdAt: number;
  isAdmin: boolean;
  mayStream: boolean;
  disabledAt: number | null;
  deletedAt: number | null;
}

function summary(u: User): UserSummary {
  return { id: u.id, username: u.username, createdAt: u.created_at, isAdmin: u.is_admin === 1, mayStream: u.may_stream === 1, disabledAt: u.disabled_at, deletedAt: u.deleted_at };
}

/** Users whose name contains `query` (case-insensitive), newest first; deleted accounts are left out. */
export async function searchUsers(db: Db, input: { query: string; limit: number }): Promise<UserSummary[]> {
  let q = db.selectFrom('users').selectAll().where('deleted_at', 'is', null);
  const needle = input.query.normalize('NFKC').toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  // SQLite's LIKE has no default escape character, PostgreSQL's is `\`: name it, so `_` and `%` match themselves on both.
  if (needle) q = q.where(sql<boolean>`username_key like ${`%${needle}%`} escape '\\'`);
  const rows = await q.orderBy('id', 'desc').limit(input.limit).execute();
  return rows.map(summary);
}

export async function getUserSummary(db: Db, userId: number): Promise<UserSummary | undefined> {
  const u = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  return u ? summary(u) : undefined;
}

export async function setUserAdmin(db: Db, userId: number, isAdmin: boolean): Promise<boolean> {
  const res = await db.updateTable('users').set({ is_admin: isAdmin ? 1 : 0 }).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

export async function setUserMayStream(db: Db, userId: number, mayStream: boolean): Promise<boolean> {
  const res = await db.updateTable('users').set({ may_stream: mayStream ? 1 : 0 }).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Disables (`at`) or re-enables (null) an account; a disabled account's sessions are dropped by the caller. */
export async function setUserDisabled(db: Db, userId: number, at: number | null): Promise<boolean> {
  const res = await db.updateTable('users').set({ disabled_at: at }).where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Signs the user out everywhere; returns how many sessions ended. */
export async function deleteSessionsOf(db: Db, userId: number): Promise<number> {
  const res = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/**
 * Deletes an account. The row stays, renamed `deleted-<id>` with an unusable
 * password, because comments, streams and logs point at it; the name is free
 * again. With `deleteComments` every comment of the user is hidden too. Run it
 * in a transaction.
 */
export async function deleteUserAccount(db: Db, userId: number, input: { now: number; deleteComments: boolean; deletedBy: number }): Promise<{ deleted: boolean; commentsDeleted: number }> {
  const placeholder = `deleted-${userId}`;
  const res = await db
    .updateTable('users')
    .set({ username: placeholder, username_key: placeholder, password_hash: '!', is_admin: 0, may_stream: 0, disabled_at: input.now, deleted_at: input.now })
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (res.numUpdatedRows === 0n) return { deleted: false, commentsDeleted: 0 };
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  await db.deleteFrom('stream_keys').where('channel_id', '=', userId).execute();
  await db.deleteFrom('password_resets').where('user_id', '=', userId).execute();
  let commentsDeleted = 0;
  if (input.deleteComments) {
    const hidden = await db
      .updateTable('live_stream_comments')
      .set({ deleted_at: input.now, deleted_by: input.deletedBy })
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    commentsDeleted = Number(hidden.numUpdatedRows);
  }
  return { deleted: true, commentsDeleted };
}

export async function insertAdminLog(
  db: Db,
  entry: { actorId: number | null; action: string; targetUserId?: number | null; targetStreamId?: number | null; reason?: string; details?: Record<string, unknown>; now: number },
): Promise<void> {
  await db
    .insertInto('admin_log')
    .values({
      actor_id: entry.actorId,
      action: entry.action,
      target_user_id: entry.targetUserId ?? null,
      target_stream_id: entry.targetStreamId ?? null,
      reason: entry.reason ?? '',
      details: JSON.stringify(entry.details ?? {}),
      created_at: entry.now,
    })
    .execute();
}

export interface AdminLogView extends AdminLogEntry {
  actor_username: string | null;
  target_username: string | null;
}

export async function listAdminLog(db: Db, limit: number): Promise<AdminLogView[]> {
  return db
    .selectFrom('admin_log')
    .leftJoin('users as actor', 'actor.id', 'admin_log.actor_id')
    .leftJoin('users as target', 'target.id', 'admin_log.target_user_id')
    .selectAll('admin_log')
    .select(['actor.username as actor_username', 'target.username as target_username'])
    .orderBy('admin_log.id', 'desc')
    .limit(limit)
    .execute();
}

export async function insertPasswordReset(db: Db, input: { tokenHash: string; userId: number; createdBy: number | null; now: number; expiresAt: number }): Promise<void> {
  await db
    .insertInto('password_resets')
    .values({ token_hash: input.tokenHash, user_id: input.userId, created_by: input.createdBy, created_at: input.now, expires_at: input.expiresAt, used_at: null })
    .execute();
}

/**
 * Uses a reset token once: sets the new password hash and signs the user out
 * everywhere. Undefined when the token is unknown, used or expired. Run it in a transaction.
 */
export async function redeemPasswordReset(db: Db, input: { tokenHash: string; passwordHash: string; now: number }): Promise<{ userId: number } | undefined> {
  const used = await db
    .updateTable('password_resets')
    .set({ used_at: input.now })
    .where('token_hash', '=', input.tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', input.now)
    .returning('user_id')
    .executeTakeFirst();
  if (!used) return undefined;
  const updated = await db.updateTable('users').set({ password_hash: input.passwordHash }).where('id', '=', used.user_id).where('deleted_at', 'is', null).executeTakeFirst();
  if (updated.numUpdatedRows === 0n) return undefined;
  await db.deleteFrom('sessions').where('user_id', '=', used.user_id).execute();
  return { userId: used.user_id };
}

export async function readSiteSettings(db: Db): Promise<Map<string, unknown>> {
  const rows = await db.selectFrom('site_settings').select(['name', 'value']).execute();
  return new Map(rows.map((r) => [r.name, JSON.parse(r.value) as unknown]));
}

export async function writeSiteSetting(db: Db, input: { name: string; value: unknown; updatedBy: number | null; now: number }): Promise<void> {
  const value = JSON.stringify(input.value);
  await db
    .insertInto('site_settings')
    .values({ name: input.name, value, updated_by: input.updatedBy, updated_at: input.now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_by: input.updatedBy, updated_at: input.now }))
    .execute();
}

export async function insertInvite(db: Db, input: { codeHash: string; createdBy: number | null; now: number; expiresAt: number }): Promise<void> {
  await db.insertInto('invites').values({ code_hash: input.codeHash, created_by: input.createdBy, created_at: input.now, expires_at: input.expiresAt, used_by: null, used_at: null }).execute();
}

/** Spends an invite on a new account; false when the code is unknown, used or expired. Same transaction as the account. */
export async function useInvite(db: Db, input: { codeHash: string; userId: number; now: number }): Promise<boolean> {
  const res = await db
    .updateTable('invites')
    .set({ used_by: input.userId, used_at: input.now })
    .where('code_hash', '=', input.codeHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', input.now)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}
