import type { Db } from './database.ts';
import type { RestrictionKind } from './schema.ts';

export async function banUser(db: Db, input: { channelId: number; userId: number; reason: string; bannedBy: number; now: number }): Promise<boolean> {
  const res = await db
    .insertInto('channel_bans')
    .values({ channel_id: input.channelId, user_id: input.userId, reason: input.reason, banned_by: input.bannedBy, created_at: input.now })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function unbanUser(db: Db, channelId: number, userId: number): Promise<boolean> {
  const res = await db.deleteFrom('channel_bans').where('channel_id', '=', channelId).where('user_id', '=', userId).executeTakeFirst();
  return res.numDeletedRows > 0n;
}

export async function isBanned(db: Db, channelId: number, userId: number): Promise<boolean> {
  const row = await db
    .selectFrom('channel_bans')
    .select('user_id')
    .where('channel_id', '=', channelId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function addRestriction(
  db: Db,
  input: { channelId: number; userId: number; kind: RestrictionKind; reason: string; createdBy: number; now: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('channel_restrictions')
    .values({
      channel_id: input.channelId,
      user_id: input.userId,
      kind: input.kind,
      reason: input.reason,
      created_by: input.createdBy,
      created_at: input.now,
      expires_at: input.expiresAt,
    })
    .execute();
}

/** The latest expiry of an active restriction of this kind, or null. */
export async function activeRestrictionUntil(db: Db, channelId: number, userId: number, kind: RestrictionKind, now: number): Promise<number | null> {
  const row = await db
    .selectFrom('channel_restrictions')
    .select((eb) => eb.fn.max('expires_at').as('until'))
    .where('channel_id', '=', channelId)
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('lifted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.until ?? null;
}

/** What keeps a user from writing on a channel right now. */
export type ActiveRestriction = { kind: 'ban'; until: null } | { kind: RestrictionKind; until: number };

/**
 * The users among `userIds` who are banned from the channel or under an active
 * timeout or kick at `now` (a ban wins; otherwise the latest expiry). Two
 * queries for any number of users: the chat writer asks once per commit.
 */
export async function activeRestrictionsOf(db: Db, channelId: number, userIds: readonly number[], now: number): Promise<Map<number, ActiveRestriction>> {
  const out = new Map<number, ActiveRestriction>();
  if (userIds.length === 0) return out;
  const ids = [...new Set(userIds)];
  const restrictions = await db
    .selectFrom('channel_restrictions')
    .select(['user_id', 'kind', 'expires_at'])
    .where('channel_id', '=', channelId)
    .where('user_id', 'in', ids)
    .where('lifted_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
  for (const r of restrictions) {
    const seen = out.get(r.user_id);
    if (!seen || (seen.until !== null && r.expires_at > seen.until)) out.set(r.user_id, { kind: r.kind, until: r.expires_at });
  }
  const bans = await db.selectFrom('channel_bans').select('user_id').where('channel_id', '=', channelId).where('user_id', 'in', ids).execute();
  for (const b of bans) out.set(b.user_id, { kind: 'ban', until: null });
  return out;
}

/** What keeps a user out of a channel now: a ban, or a kick until it expires. The reason is the moderator's. */
export type Exclusion = { kind: 'ban'; reason: string; until: null } | { kind: 'kick'; reason: string; until: number };

/**
 * The users among `userIds` a ban or an active kick keeps out of the channel
 * at `now` (a ban wins over a kick; of several kicks, the latest expiry).
 * Two queries for any number of users.
 */
export async function exclusionsOf(db: Db, channelId: number, userIds: readonly number[], now: number): Promise<Map<number, Exclusion>> {
  const out = new Map<number, Exclusion>();
  if (userIds.length === 0) return out;
  const ids = [...new Set(userIds)];
  const kicks = await db
    .selectFrom('channel_restrictions')
    .select(['user_id', 'reason', 'expires_at'])
    .where('channel_id', '=', channelId)
    .where('user_id', 'in', ids)
    .where('kind', '=', 'kick')
    .where('lifted_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
  for (const k of kicks) {
    const seen = out.get(k.user_id);
    if (!seen || (seen.until !== null && k.expires_at > seen.until)) out.set(k.user_id, { kind: 'kick', reason: k.reason, until: k.expires_at });
  }
  const bans = await db.selectFrom('channel_bans').select(['user_id', 'reason']).where('channel_id', '=', channelId).where('user_id', 'in', ids).execute();
  for (const b of bans) out.set(b.user_id, { kind: 'ban', reason: b.reason, until: null });
  return out;
}

export async function liftRestrictions(db: Db, channelId: number, userId: number, kind: RestrictionKind, now: number): Promise<number> {
  const res = await db
    .updateTable('channel_restrictions')
    .set({ lifted_at: now })
    .where('channel_id', '=', channelId)
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('lifted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export interface LogEntryInput {
  channelId: number;
  streamId: number | null;
  actorId: number | null;
  targetUserId: number | null;
  action: string;
  reason?: string;
  details?: Record<string, unknown>;
  now: number;
}

export async function appendModerationLog(db: Db, e: LogEntryInput): Promise<number> {
  const row = await db
    .insertInto('moderation_log')
    .values({
      channel_id: e.channelId,
      stream_id: e.streamId,
      actor_id: e.actorId,
      target_user_id: e.targetUserId,
      action: e.action,
      reason: e.reason ?? '',
      details: JSON.stringify(e.details ?? {}),
      created_at: e.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface ModerationLogView {
  id: number;
  action: string;
  reason: string;
  details: Record<string, unknown>;
  createdAt: number;
  streamId: number | null;
  actor: { id: number; username: string } | null;
  target: { id: number; username: string } | null;
}

export async function listModerationLog(db: Db, channelId: number, opts: { limit?: number; beforeId?: number } = {}): Promise<ModerationLogView[]> {
  let q = db
    .selectFrom('moderation_log as l')
    .leftJoin('users as a', 'a.id', 'l.actor_id')
    .leftJoin('users as t', 't.id', 'l.target_user_id')
    .select(['l.id', 'l.action', 'l.reason', 'l.details', 'l.created_at', 'l.stream_id', 'l.actor_id', 'a.username as actor_name', 'l.target_user_id', 't.username as target_name'])
    .where('l.channel_id', '=', channelId)
    .orderBy('l.id', 'desc')
    .limit(opts.limit ?? 100);
  if (opts.beforeId !== undefined) q = q.where('l.id', '<', opts.beforeId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    reason: r.reason,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: r.created_at,
    streamId: r.stream_id,
    actor: r.actor_id !== null && r.actor_name !== null ? { id: r.actor_id, username: r.actor_name } : null,
    target: r.target_user_id !== null && r.target_name !== null ? { id: r.target_user_id, username: r.target_name } : null,
  }));
}

export interface ChatSettings {
  slowModeSeconds: number;
  blockedWords: string[];
  accountsOnly: boolean;
}

const DEFAULT_CHAT_SETTINGS: ChatSettings = { slowModeSeconds: 0, blockedWords: [], accountsOnly: false };

export async function getChatSettings(db: Db, channelId: number): Promise<ChatSettings> {
  const row = await db.selectFrom('chat_settings').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
  if (!row) return { ...DEFAULT_CHAT_SETTINGS, blockedWords: [] };
  return { slowModeSeconds: row.slow_mode_seconds, blockedWords: JSON.parse(row.blocked_words) as string[], accountsOnly: row.accounts_only === 1 };
}

export async function saveChatSettings(db: Db, channelId: number, s: ChatSettings, now: number): Promise<void> {
  const values = { slow_mode_seconds: s.slowModeSeconds, blocked_words: JSON.stringify(s.blockedWords), accounts_only: s.accountsOnly ? 1 : 0, updated_at: now };
  await db
    .insertInto('chat_settings')
    .values({ channel_id: channelId, ...values })
    .onConflict((oc) => oc.column('channel_id').doUpdateSet(values))
    .execute();
}
