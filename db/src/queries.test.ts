import { afterEach, beforeEach, expect, it } from 'vitest';
import { isDatabaseUnavailable, isUniqueViolation, serializeChannelWrites } from './dialect.ts';
import {
  activeRestrictionsOf,
  activeRestrictionUntil,
  addRestriction,
  appendModerationLog,
  banUser,
  exclusionsOf,
  getChatSettings,
  isBanned,
  liftRestrictions,
  listModerationLog,
  saveChatSettings,
  unbanUser,
} from './moderation.ts';
import { getChannelRole, removeChannelRole, setChannelRole } from './roles.ts';
import { setUserDisabled } from './admin.ts';
import { deleteSession, findSessionUser, insertSession, standingSessions } from './sessions.ts';
import {
  createStream,
  getStreamStatuses,
  insertViewerSample,
  lastSignOfLife,
  listOpenStreams,
  listStreamsByStatus,
  listViewerSamples,
  markStreamerSeen,
  transitionStream,
} from './streams.ts';
import { describeEachDialect, type TempDatabase } from './testing/dialects.ts';
import { createUser } from './users.ts';

// Every query module on both dialects, with real millisecond times (past 2^31).
const T0 = Date.UTC(2026, 10, 24);

describeEachDialect('queries', (fx) => {
  let h: TempDatabase;
  let ids: { ana: number; bo: number; cy: number };

  beforeEach(async () => {
    h = await fx.openDatabase();
    // One after the other: ids ascend in this order on both dialects.
    const made = [];
    for (const [i, username] of ['Ana', 'Bo', 'Cy'].entries()) made.push(await createUser(h.db, { username, passwordHash: 'x', now: T0 + i }));
    const [ana, bo, cy] = made.map((r) => (r.ok ? r.user.id : 0));
    ids = { ana: ana!, bo: bo!, cy: cy! };
  });
  afterEach(() => h.dispose());

  it('keeps usernames unique case-insensitively, even for racing registrations', async () => {
    expect(await createUser(h.db, { username: 'ANA', passwordHash: 'y', now: T0 })).toEqual({ ok: false, reason: 'username_taken' });
    const racing = await Promise.all(Array.from({ length: 4 }, () => createUser(h.db, { username: 'Dee', passwordHash: 'z', now: T0 })));
    expect(racing.filter((r) => r.ok)).toHaveLength(1);
    expect(racing.filter((r) => !r.ok)).toEqual(Array.from({ length: 3 }, () => ({ ok: false, reason: 'username_taken' })));
  });

  it('finds a session until it expires, and not after deletion', async () => {
    await insertSession(h.db, { tokenHash: 'h1', userId: ids.ana, now: T0, expiresAt: T0 + 1000 });
    expect(await findSessionUser(h.db, 'h1', T0 + 999)).toEqual({ userId: ids.ana, username: 'Ana', isAdmin: false, expiresAt: T0 + 1000 });
    expect(await findSessionUser(h.db, 'h1', T0 + 1000)).toBeUndefined();
    expect(await deleteSession(h.db, 'h1')).toBe(true);
    expect(await deleteSession(h.db, 'h1')).toBe(false);
  });

  it('replaces a channel role and removes only the role held', async () => {
    await setChannelRole(h.db, { channelId: ids.ana, userId: ids.bo, role: 'vip', grantedBy: ids.ana, now: T0 });
    await setChannelRole(h.db, { channelId: ids.ana, userId: ids.bo, role: 'moderator', grantedBy: ids.ana, now: T0 + 1 });
    expect(await getChannelRole(h.db, ids.ana, ids.bo)).toBe('moderator');
    expect(await removeChannelRole(h.db, ids.ana, ids.bo, 'vip')).toBe(false);
    expect(await removeChannelRole(h.db, ids.ana, ids.bo, 'moderator')).toBe(true);
    expect(await getChannelRole(h.db, ids.ana, ids.bo)).toBeNull();
  });

  it('bans once, restricts until expiry, lifts, and logs newest first', async () => {
    expect(await banUser(h.db, { channelId: ids.ana, userId: ids.bo, reason: 'spam', bannedBy: ids.ana, now: T0 })).toBe(true);
    expect(await banUser(h.db, { channelId: ids.ana, userId: ids.bo, reason: 'again', bannedBy: ids.ana, now: T0 })).toBe(false);
    expect(await isBanned(h.db, ids.ana, ids.bo)).toBe(true);
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.cy, kind: 'timeout', reason: '', createdBy: ids.ana, now: T0, expiresAt: T0 + 60_000 });
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.cy, kind: 'timeout', reason: '', createdBy: ids.ana, now: T0, expiresAt: T0 + 120_000 });
    expect(await activeRestrictionUntil(h.db, ids.ana, ids.cy, 'timeout', T0 + 1)).toBe(T0 + 120_000);
    const active = await activeRestrictionsOf(h.db, ids.ana, [ids.bo, ids.cy, ids.ana], T0 + 1);
    expect([...active.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [ids.bo, { kind: 'ban', until: null }],
      [ids.cy, { kind: 'timeout', until: T0 + 120_000 }],
    ]);
    expect(await liftRestrictions(h.db, ids.ana, ids.cy, 'timeout', T0 + 2)).toBe(2);
    expect(await activeRestrictionUntil(h.db, ids.ana, ids.cy, 'timeout', T0 + 3)).toBeNull();
    expect(await unbanUser(h.db, ids.ana, ids.bo)).toBe(true);
    expect(await activeRestrictionsOf(h.db, ids.ana, [ids.bo, ids.cy], T0 + 3)).toEqual(new Map());

    const first = await appendModerationLog(h.db, { channelId: ids.ana, streamId: null, actorId: ids.ana, targetUserId: ids.bo, action: 'ban', reason: 'spam', details: { n: 1 }, now: T0 });
    const second = await appendModerationLog(h.db, { channelId: ids.ana, streamId: null, actorId: null, targetUserId: null, action: 'update_chat_settings', now: T0 + 1 });
    expect(second).toBeGreaterThan(first);
    const log = await listModerationLog(h.db, ids.ana);
    expect(log.map((e) => e.id)).toEqual([second, first]);
    expect(log[1]).toEqual({ id: first, action: 'ban', reason: 'spam', details: { n: 1 }, createdAt: T0, streamId: null, actor: { id: ids.ana, username: 'Ana' }, target: { id: ids.bo, username: 'Bo' } });
    expect(await listModerationLog(h.db, ids.ana, { beforeId: second })).toHaveLength(1);
  });

  it('names what keeps a user out of a channel: a ban over a kick, the latest kick, never a timeout, with the reason', async () => {
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.bo, kind: 'kick', reason: 'first', createdBy: ids.ana, now: T0, expiresAt: T0 + 10 });
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.bo, kind: 'kick', reason: 'second', createdBy: ids.ana, now: T0, expiresAt: T0 + 20 });
    // A longer timeout does not hide the kick.
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.bo, kind: 'timeout', reason: 'hush', createdBy: ids.ana, now: T0, expiresAt: T0 + 99 });
    await addRestriction(h.db, { channelId: ids.ana, userId: ids.cy, kind: 'kick', reason: 'k', createdBy: ids.ana, now: T0, expiresAt: T0 + 20 });
    await banUser(h.db, { channelId: ids.ana, userId: ids.cy, reason: 'spam', bannedBy: ids.ana, now: T0 });
    expect(await exclusionsOf(h.db, ids.ana, [ids.bo, ids.cy, ids.cy], T0 + 15)).toEqual(
      new Map([
        [ids.bo, { kind: 'kick', reason: 'second', until: T0 + 20 }],
        [ids.cy, { kind: 'ban', reason: 'spam', until: null }],
      ]),
    );
    expect(await exclusionsOf(h.db, ids.ana, [ids.bo], T0 + 20)).toEqual(new Map());
    expect(await exclusionsOf(h.db, ids.bo, [ids.cy], T0)).toEqual(new Map());
    expect(await exclusionsOf(h.db, ids.ana, [], T0)).toEqual(new Map());
  });

  it('says which sessions still stand: not deleted, their account not disabled (expiry aside)', async () => {
    await insertSession(h.db, { tokenHash: 'a1', userId: ids.ana, now: T0, expiresAt: T0 + 1 });
    await insertSession(h.db, { tokenHash: 'b1', userId: ids.bo, now: T0, expiresAt: T0 + 100 });
    await insertSession(h.db, { tokenHash: 'c1', userId: ids.cy, now: T0, expiresAt: T0 + 100 });
    await deleteSession(h.db, 'b1');
    await setUserDisabled(h.db, ids.cy, T0 + 2);
    expect(await standingSessions(h.db, ['a1', 'b1', 'c1', 'zz', 'a1'])).toEqual(new Set(['a1']));
    expect(await standingSessions(h.db, [])).toEqual(new Set());
  });

  it('upserts chat settings', async () => {
    expect(await getChatSettings(h.db, ids.ana)).toEqual({ slowModeSeconds: 0, blockedWords: [], accountsOnly: false });
    await saveChatSettings(h.db, ids.ana, { slowModeSeconds: 5, blockedWords: ['x'], accountsOnly: true }, T0);
    await saveChatSettings(h.db, ids.ana, { slowModeSeconds: 7, blockedWords: ['x', 'y'], accountsOnly: true }, T0 + 1);
    expect(await getChatSettings(h.db, ids.ana)).toEqual({ slowModeSeconds: 7, blockedWords: ['x', 'y'], accountsOnly: true });
  });

  it('lets one of several racing creations open a stream, and lists and samples it', async () => {
    const racing = await Promise.all(Array.from({ length: 4 }, (_, i) => createStream(h.db, { streamerId: ids.ana, title: `t${i}`, description: '', now: T0 })));
    const won = racing.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    const stream = won[0]!.stream;
    for (const r of racing.filter((x) => !x.ok)) expect(r).toMatchObject({ ok: false, reason: 'stream_already_open', stream: { id: stream.id } });

    await transitionStream(h.db, stream.id, 'live', { now: T0 + 10 });
    await markStreamerSeen(h.db, stream.id, T0 + 20);
    await insertViewerSample(h.db, stream.id, T0 + 30, 3);
    await insertViewerSample(h.db, stream.id, T0 + 30, 4);
    await insertViewerSample(h.db, stream.id, T0 + 40, 5);
    expect(await listViewerSamples(h.db, stream.id)).toEqual([{ at: T0 + 30, viewers: 4 }, { at: T0 + 40, viewers: 5 }]);
    expect(await lastSignOfLife(h.db, stream.id)).toBe(T0 + 40);
    expect((await listStreamsByStatus(h.db, ['live'])).map((s) => [s.id, s.streamer_username])).toEqual([[stream.id, 'Ana']]);
    expect((await listOpenStreams(h.db)).map((s) => s.id)).toEqual([stream.id]);
    expect(await getStreamStatuses(h.db, [stream.id, 999_999])).toEqual([{ id: stream.id, status: 'live', ended_at: null, end_reason: null, comments_count: 0 }]);
  });

  it('makes the writes of one channel take turns: a transaction that waited reads what the other committed', async () => {
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((r) => (releaseFirst = r));
    const first = h.db.transaction().execute(async (trx) => {
      await serializeChannelWrites(trx, ids.ana);
      await banUser(trx, { channelId: ids.ana, userId: ids.bo, reason: '', bannedBy: ids.ana, now: T0 });
      locked();
      await firstMayCommit;
    });
    await lockTaken;
    const second = h.db.transaction().execute(async (trx) => {
      await serializeChannelWrites(trx, ids.ana);
      return isBanned(trx, ids.ana, ids.bo);
    });
    if (h.dialect === 'postgres') {
      const { pool } = h;
      // Let the first commit only once the second is seen waiting for the channel's lock.
      const waiting = async (): Promise<void> => {
        const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted");
        if (rows[0]?.n === 0) return waiting();
      };
      await waiting();
    }
    releaseFirst();
    await first;
    expect(await second).toBe(true);
  });

  it('recognises its own refusals: a unique violation is not an outage', async () => {
    const dup = await h.db.insertInto('users').values({ username: 'x', username_key: 'ana', password_hash: 'x', created_at: T0 }).execute().then(
      () => null,
      (err: unknown) => err,
    );
    expect(isUniqueViolation(dup)).toBe(true);
    expect(isDatabaseUnavailable(dup)).toBe(false);
  });
});
