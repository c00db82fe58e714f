import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientMessage } from '../protocol/client-messages.ts';
import type { ServerMessage, ServerMessageOf, ServerMessageType } from '../protocol/server-messages.ts';
import { startTestServer, type TestServer } from '../testing/server.ts';
import type { TestWsClient } from '../testing/ws-client.ts';
import { errorCode, expectAck, moderationState, openChannel, say, uniqueName, type Channel, type Member } from './chat-testkit.ts';

// The permission table, cell by cell, over real WebSockets: every
// allowed action is seen by every connected client; every refused one answers
// `forbidden` and leaves the database exactly as it was.

let server: TestServer;
let ch: Channel;
let streamer: Member;
let mod: Member;
let mod2: Member;
let vip: Member;
let viewer: Member;
let anon: TestWsClient;
/** Everyone watching: the streamer, a moderator, a VIP, a viewer, an anonymous watcher. */
let everyone: TestWsClient[];

type Request = Record<string, unknown> & { type: ClientMessage['type'] };

beforeAll(async () => {
  server = await startTestServer();
  ch = await openChannel(server);
  streamer = ch.streamer;
  [mod, mod2, vip, viewer, anon] = await Promise.all([
    ch.appoint(uniqueName('mod'), 'moderator'),
    ch.appoint(uniqueName('modtwo'), 'moderator'),
    ch.appoint(uniqueName('vip'), 'vip'),
    ch.join(uniqueName('viewer')),
    ch.anonymous(),
  ]);
  everyone = [streamer.ws, mod.ws, vip.ws, viewer.ws, anon];
});

afterAll(async () => {
  await server?.close();
});

/** A refused request: `forbidden`, and not one row changed. */
async function refused(ws: TestWsClient, request: Request): Promise<void> {
  const before = await moderationState(server.app.db);
  const reply = await ws.request(request);
  expect(errorCode(reply), `${request.type} should be refused: ${JSON.stringify(reply)}`).toBe('forbidden');
  expect(await moderationState(server.app.db)).toEqual(before);
}

/** An allowed request: acked, and its announcement reaches every client in `to`. */
async function allowed<T extends ServerMessageType>(
  ws: TestWsClient,
  request: Request,
  announcement: T,
  match: (m: ServerMessageOf<T>) => boolean,
  to: TestWsClient[] = everyone,
): Promise<void> {
  const seen = to.map((c) => c.waitFor(announcement, match));
  expectAck(await ws.request(request));
  await Promise.all(seen);
}

const lastOf = <T extends ServerMessageType>(ws: TestWsClient, type: T): ServerMessageOf<T> | undefined => ws.of(type).at(-1);

describe('the permission table over WebSockets', () => {
  it('lets every role watch, anonymous included', () => {
    const roles = everyone.map((ws) => ws.waitFor('connection_established').then((m) => m.role));
    return expect(Promise.all(roles)).resolves.toEqual(['streamer', 'moderator', 'vip', 'viewer', 'anonymous']);
  });

  it('lets only the streamer start a stream (publish)', async () => {
    const reply = await streamer.ws.request({ type: 'create_transport', direction: 'send' });
    expect(reply.type).toBe('offer');
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) await refused(ws, { type: 'create_transport', direction: 'send' });
  });

  it('lets every account comment, highlighted for the streamer, moderators and VIPs', async () => {
    const cases: [Member, boolean][] = [
      [streamer, true],
      [mod, true],
      [vip, true],
      [viewer, false],
    ];
    for (const [m, highlighted] of cases) {
      const content = `hello from ${m.username} :hype:`;
      const seen = everyone.map((ws) => ws.waitFor('comment', (c) => c.comment.content === content));
      await say(m.ws, content);
      for (const c of await Promise.all(seen)) {
        expect(c.comment.highlighted, m.username).toBe(highlighted);
        expect(c.comment.author.id).toBe(m.id);
      }
    }
    const reply = await anon.request({ type: 'comment', content: 'anonymous words' });
    expect(errorCode(reply)).toBe('unauthorized');
  });

  it('lets the streamer and moderators delete comments, and nobody else', async () => {
    // Two authors: the chat rate limit (3 per 2 s) holds for viewers here too.
    const [w1, w2] = await Promise.all([ch.join(uniqueName('dela')), ch.join(uniqueName('delb'))]);
    const ids = [await say(w1.ws, 'delete me 0'), await say(w1.ws, 'delete me 1'), await say(w2.ws, 'delete me 2'), await say(w2.ws, 'delete me 3')];
    await allowed(streamer.ws, { type: 'delete_comment', commentId: ids[0] }, 'comment_deleted', (m) => m.commentIds.includes(ids[0]!));
    await allowed(mod.ws, { type: 'delete_comment', commentId: ids[1] }, 'comment_deleted', (m) => m.commentIds.includes(ids[1]!));
    await refused(vip.ws, { type: 'delete_comment', commentId: ids[2] });
    await refused(viewer.ws, { type: 'delete_comment', commentId: ids[3] });
    await refused(anon, { type: 'delete_comment', commentId: ids[3] });

    // The target rules: the streamer's and another moderator's comments are off limits to a moderator.
    const byStreamer = await say(streamer.ws, 'streamer words');
    const byMod2 = await say(mod2.ws, 'mod2 words');
    await refused(mod.ws, { type: 'delete_comment', commentId: byStreamer });
    await refused(mod.ws, { type: 'delete_comment', commentId: byMod2 });
    await allowed(streamer.ws, { type: 'delete_comment', commentId: byMod2 }, 'comment_deleted', (m) => m.commentIds.includes(byMod2));
    const own = await say(mod.ws, 'my own words');
    await allowed(mod.ws, { type: 'delete_comment', commentId: own }, 'comment_deleted', (m) => m.commentIds.includes(own));
  });

  it('lets the streamer and moderators time out, and nobody else', async () => {
    const [a, b, c] = await Promise.all([ch.join(uniqueName('toa')), ch.join(uniqueName('tob')), ch.join(uniqueName('toc'))]);
    await allowed(streamer.ws, { type: 'timeout_user', userId: a.id, durationSeconds: 60, reason: 'cool down' }, 'user_timed_out', (m) => m.user.id === a.id && m.reason === 'cool down', [...everyone, a.ws]);
    await allowed(mod.ws, { type: 'timeout_user', userId: b.id, durationSeconds: 600 }, 'user_timed_out', (m) => m.user.id === b.id);
    for (const m of [a, b]) {
      const reply = await m.ws.request({ type: 'comment', content: 'let me talk' });
      expect(errorCode(reply)).toBe('timed_out');
    }
    for (const ws of [vip.ws, viewer.ws, anon]) await refused(ws, { type: 'timeout_user', userId: c.id, durationSeconds: 60 });
    await say(c.ws, 'still free to talk');
  });

  it('lets the streamer and moderators kick, and nobody else', async () => {
    const [a, b, c] = await Promise.all([ch.join(uniqueName('kia')), ch.join(uniqueName('kib')), ch.join(uniqueName('kic'))]);
    await allowed(streamer.ws, { type: 'kick_user', userId: a.id, reason: 'out' }, 'user_kicked', (m) => m.user.id === a.id, [...everyone, a.ws]);
    await allowed(mod.ws, { type: 'kick_user', userId: b.id }, 'user_kicked', (m) => m.user.id === b.id, [...everyone, b.ws]);
    expect(await a.ws.closedPromise).toBe(4001);
    expect(await b.ws.closedPromise).toBe(4001);
    for (const ws of [vip.ws, viewer.ws, anon]) await refused(ws, { type: 'kick_user', userId: c.id });
    expect(c.ws.closeCode).toBeNull();
  });

  it('lets the streamer and moderators ban and unban, and nobody else', async () => {
    const [a, b, c] = await Promise.all([ch.join(uniqueName('baa')), ch.join(uniqueName('bab')), ch.join(uniqueName('bac'))]);
    await allowed(streamer.ws, { type: 'ban_user', userId: a.id, reason: 'spam' }, 'user_banned', (m) => m.user.id === a.id, [...everyone, a.ws]);
    await allowed(mod.ws, { type: 'ban_user', userId: b.id }, 'user_banned', (m) => m.user.id === b.id, [...everyone, b.ws]);
    expect(await a.ws.closedPromise).toBe(4003);
    expect(await b.ws.closedPromise).toBe(4003);
    for (const ws of [vip.ws, viewer.ws, anon]) {
      await refused(ws, { type: 'ban_user', userId: c.id });
      await refused(ws, { type: 'unban_user', userId: a.id });
    }
    expect(c.ws.closeCode).toBeNull();
    await allowed(mod.ws, { type: 'unban_user', userId: a.id }, 'user_unbanned', (m) => m.user.id === a.id);
    await allowed(streamer.ws, { type: 'unban_user', userId: b.id }, 'user_unbanned', (m) => m.user.id === b.id);
    // Unbanned means admitted again.
    const back = await ch.connect(a);
    expect(lastOf(back, 'connection_established')?.role).toBe('viewer');
    await back.close();
  });

  it('lets only the streamer appoint and remove moderators, and the new role takes effect at once', async () => {
    const [x, y, victim] = await Promise.all([ch.join(uniqueName('xmod')), ch.join(uniqueName('ymod')), ch.join(uniqueName('victim'))]);
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) await refused(ws, { type: 'add_moderator', userId: y.id });
    await allowed(streamer.ws, { type: 'add_moderator', userId: x.id }, 'role_changed', (m) => m.user.id === x.id && m.role === 'moderator', [...everyone, x.ws]);
    // x may now moderate; the other moderator may not remove x (nor may anyone but the streamer).
    const victimSays = await say(victim.ws, 'moderate me');
    await allowed(x.ws, { type: 'delete_comment', commentId: victimSays }, 'comment_deleted', (m) => m.commentIds.includes(victimSays));
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) await refused(ws, { type: 'remove_moderator', userId: x.id });
    await allowed(streamer.ws, { type: 'remove_moderator', userId: x.id }, 'role_changed', (m) => m.user.id === x.id && m.role === 'viewer', [...everyone, x.ws]);
    await refused(x.ws, { type: 'timeout_user', userId: victim.id, durationSeconds: 60 });
  });

  it('lets only the streamer appoint and remove VIPs, whose comments are highlighted', async () => {
    const y = await ch.join(uniqueName('yvip'));
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) await refused(ws, { type: 'add_vip', userId: y.id });
    await allowed(streamer.ws, { type: 'add_vip', userId: y.id }, 'role_changed', (m) => m.user.id === y.id && m.role === 'vip', [...everyone, y.ws]);
    await say(y.ws, 'now I shine :redheart:');
    expect((await streamer.ws.waitFor('comment', (m) => m.comment.content === 'now I shine :redheart:')).comment).toMatchObject({ highlighted: true, author: { role: 'vip' } });
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) await refused(ws, { type: 'remove_vip', userId: y.id });
    await allowed(streamer.ws, { type: 'remove_vip', userId: y.id }, 'role_changed', (m) => m.user.id === y.id && m.role === 'viewer');
    await say(y.ws, 'back to plain');
    expect((await streamer.ws.waitFor('comment', (m) => m.comment.content === 'back to plain')).comment.highlighted).toBe(false);
  });

  it('refuses a moderator acting on the streamer or on another moderator, and anyone acting on the streamer', async () => {
    for (const target of [streamer, mod2]) {
      await refused(mod.ws, { type: 'kick_user', userId: target.id });
      await refused(mod.ws, { type: 'timeout_user', userId: target.id, durationSeconds: 60 });
      await refused(mod.ws, { type: 'ban_user', userId: target.id });
    }
    await refused(streamer.ws, { type: 'ban_user', userId: streamer.id });
    await refused(streamer.ws, { type: 'add_vip', userId: streamer.id });
    await refused(mod.ws, { type: 'timeout_user', userId: mod.id, durationSeconds: 60 });
    expect(mod2.ws.closeCode).toBeNull();
  });

  it('lets the streamer and moderators change chat settings and read the log', async () => {
    for (const ws of [vip.ws, viewer.ws, anon]) {
      await refused(ws, { type: 'update_chat_settings', settings: { slowModeSeconds: 30 } });
      expect(errorCode(await ws.request({ type: 'get_moderation_log' }))).toBe('forbidden');
    }
    await allowed(mod.ws, { type: 'update_chat_settings', settings: { slowModeSeconds: 0, blockedWords: ['Heck'] } }, 'chat_settings', (m) => m.settings.slowModeSeconds === 0);
    // Staff see the blocked words; everyone else only that the list exists somewhere.
    expect(lastOf(mod.ws, 'chat_settings')?.settings.blockedWords).toEqual(['heck']);
    expect(lastOf(viewer.ws, 'chat_settings')?.settings.blockedWords).toEqual([]);

    const log = await streamer.ws.request({ type: 'get_moderation_log', limit: 200 });
    if (log.type !== 'moderation_log') throw new Error(JSON.stringify(log));
    const actions = new Set(log.entries.map((e) => e.action));
    for (const a of ['add_moderator', 'add_vip', 'remove_vip', 'remove_moderator', 'delete_comment', 'timeout', 'kick', 'ban', 'unban', 'update_chat_settings']) expect(actions, a).toContain(a);
    const timeout = log.entries.find((e) => e.action === 'timeout' && e.reason === 'cool down');
    expect(timeout).toMatchObject({ actor: { id: streamer.id }, reason: 'cool down', details: { durationSeconds: 60 } });
    expect(timeout?.target).not.toBeNull();
    const modView = await mod.ws.request({ type: 'get_moderation_log' });
    expect(modView.type).toBe('moderation_log');
  });

  it('lets only the streamer end the stream, and every client is told', async () => {
    const status = async () => (await server.app.db.selectFrom('live_streams').select('status').where('id', '=', ch.streamId).executeTakeFirstOrThrow()).status;
    for (const ws of [mod.ws, vip.ws, viewer.ws, anon]) {
      const reply: ServerMessage = await ws.request({ type: 'end_stream' });
      expect(errorCode(reply)).toBe('forbidden');
    }
    expect(await status()).not.toBe('ended');
    const told = everyone.map((ws) => ws.waitFor('stream_ended'));
    await streamer.ws.request({ type: 'end_stream' }).catch(() => undefined);
    await Promise.all(told);
    expect(await status()).toBe('ended');
  });
});
