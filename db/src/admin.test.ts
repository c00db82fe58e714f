import { afterEach, beforeEach, expect, it } from 'vitest';
import { deleteUserAccount, getUserSummary, insertAdminLog, insertPasswordReset, listAdminLog, readSiteSettings, redeemPasswordReset, searchUsers, setUserDisabled, writeSiteSetting } from './admin.ts';
import { insertComments } from './comments.ts';
import { findSessionUser, insertSession } from './sessions.ts';
import { createStream } from './streams.ts';
import { describeEachDialect, type TempDatabase } from './testing/dialects.ts';
import { createUser, findUserByUsername } from './users.ts';

describeEachDialect('site administration queries', (fx) => {
  type Ctx = TempDatabase & { ana: number; bob: number };
  let ctx: Ctx;

  beforeEach(async () => {
    const h = await fx.openDatabase();
    const ana = await createUser(h.db, { username: 'Ana', passwordHash: 'x', now: 0 });
    const bob = await createUser(h.db, { username: 'bob_smith', passwordHash: 'x', now: 0 });
    await createUser(h.db, { username: 'bobXsmith', passwordHash: 'x', now: 0 });
    if (!ana.ok || !bob.ok) throw new Error('users');
    ctx = Object.assign(h, { ana: ana.user.id, bob: bob.user.id });
  });
  afterEach(() => ctx.dispose());

  it('searches names case-insensitively, with _ and % matching themselves', async () => {
    expect((await searchUsers(ctx.db, { query: 'ANA', limit: 10 })).map((u) => u.username)).toEqual(['Ana']);
    expect((await searchUsers(ctx.db, { query: 'b_s', limit: 10 })).map((u) => u.username)).toEqual(['bob_smith']);
    expect(await searchUsers(ctx.db, { query: '', limit: 10 })).toHaveLength(3);
  });

  it('a disabled account loses its sessions at once; re-enabling restores them', async () => {
    await insertSession(ctx.db, { tokenHash: 't', userId: ctx.bob, now: 0, expiresAt: 100 });
    expect(await findSessionUser(ctx.db, 't', 1)).toMatchObject({ userId: ctx.bob, isAdmin: false });
    expect(await setUserDisabled(ctx.db, ctx.bob, 5)).toBe(true);
    expect(await findSessionUser(ctx.db, 't', 6)).toBeUndefined();
    await setUserDisabled(ctx.db, ctx.bob, null);
    expect(await findSessionUser(ctx.db, 't', 6)).toBeDefined();
  });

  it('deletes an account with or without its comments, freeing the name', async () => {
    const s = await createStream(ctx.db, { streamerId: ctx.ana, title: 't', description: '', now: 0 });
    if (!s.ok) throw new Error('stream');
    await insertComments(ctx.db, [{ streamId: s.stream.id, userId: ctx.bob, content: 'hi', highlighted: false, now: 1 }]);
    await insertSession(ctx.db, { tokenHash: 't', userId: ctx.bob, now: 0, expiresAt: 100 });
    const res = await ctx.db.transaction().execute((trx) => deleteUserAccount(trx, ctx.bob, { now: 10, deleteComments: true, deletedBy: ctx.ana }));
    expect(res).toEqual({ deleted: true, commentsDeleted: 1 });
    expect(await findUserByUsername(ctx.db, 'bob_smith')).toBeUndefined();
    expect(await findSessionUser(ctx.db, 't', 11)).toBeUndefined();
    expect(await getUserSummary(ctx.db, ctx.bob)).toMatchObject({ username: `deleted-${ctx.bob}`, deletedAt: 10 });
    expect((await ctx.db.selectFrom('live_stream_comments').select('deleted_at').execute())[0]!.deleted_at).toBe(10);
    expect(await deleteUserAccount(ctx.db, ctx.bob, { now: 11, deleteComments: false, deletedBy: ctx.ana })).toEqual({ deleted: false, commentsDeleted: 0 });
  });

  it('a reset token works once, before it expires, and signs the user out', async () => {
    await insertPasswordReset(ctx.db, { tokenHash: 'r', userId: ctx.bob, createdBy: ctx.ana, now: 0, expiresAt: 100 });
    await insertSession(ctx.db, { tokenHash: 't', userId: ctx.bob, now: 0, expiresAt: 1000 });
    expect(await redeemPasswordReset(ctx.db, { tokenHash: 'r', passwordHash: 'new', now: 200 })).toBeUndefined();
    expect(await redeemPasswordReset(ctx.db, { tokenHash: 'r', passwordHash: 'new', now: 50 })).toEqual({ userId: ctx.bob });
    expect(await redeemPasswordReset(ctx.db, { tokenHash: 'r', passwordHash: 'other', now: 51 })).toBeUndefined();
    expect((await findUserByUsername(ctx.db, 'bob_smith'))!.password_hash).toBe('new');
    expect(await findSessionUser(ctx.db, 't', 52)).toBeUndefined();
  });

  it('keeps the audit log newest first with names, and site settings as JSON', async () => {
    await insertAdminLog(ctx.db, { actorId: ctx.ana, action: 'user_disabled', targetUserId: ctx.bob, reason: 'spam', now: 1 });
    await insertAdminLog(ctx.db, { actorId: ctx.ana, action: 'settings_changed', details: { registration: 'closed' }, now: 2 });
    const log = await listAdminLog(ctx.db, 10);
    expect(log.map((e) => [e.action, e.actor_username, e.target_username])).toEqual([
      ['settings_changed', 'Ana', null],
      ['user_disabled', 'Ana', 'bob_smith'],
    ]);
    await writeSiteSetting(ctx.db, { name: 'registration', value: 'invite', updatedBy: ctx.ana, now: 1 });
    await writeSiteSetting(ctx.db, { name: 'registration', value: 'closed', updatedBy: ctx.ana, now: 2 });
    expect(await readSiteSettings(ctx.db)).toEqual(new Map([['registration', 'closed']]));
  });
});
