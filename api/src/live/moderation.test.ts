import { rmSync } from 'node:fs';
import { describeEachDialect } from '@redred/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../protocol/constants.ts';
import { startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { errorCode, expectAck, openChannel, say, uniqueName } from './chat-testkit.ts';

describeEachDialect('moderation', (fx) => {
  // Moderation as the people in the room live it: every action reaches every
  // socket in the same run, a kick keeps the door shut for five minutes, and a
  // ban (like roles, timeouts, settings and the log) outlives the process.

  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;
  const servers: TestServer[] = [];
  const dataDirs: string[] = [];

  afterAll(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  /** Opens a socket and returns what admission said: the close code and the error, if refused. */
  async function tryJoin(url: string, token: string): Promise<{ ws: TestWsClient; refusal: string | null; closeCode: number | null }> {
    const ws = await TestWsClient.connect(url, { token });
    const first = await Promise.race([ws.waitFor('connection_established').then(() => null), ws.waitFor('error').then((e) => e.error.code)]);
    if (first === null) return { ws, refusal: null, closeCode: null };
    return { ws, refusal: first, closeCode: await ws.closedPromise };
  }

  describe('moderation reaches everyone and lasts', () => {
    it('delivers delete, timeout, kick and ban to every connected client in one run, and enforces them', async () => {
      const server = await startTestServer(await fx.serverStorage(), { now });
      servers.push(server);
      const ch = await openChannel(server);
      const mod = await ch.appoint(uniqueName('mod'), 'moderator');
      const [talker, muted, kicked, banned, bystander] = await Promise.all(['talk', 'mute', 'kick', 'ban', 'by'].map((n) => ch.join(uniqueName(n))));
      const anons = await Promise.all([ch.anonymous(), ch.anonymous()]);
      const watchers = [ch.streamer.ws, mod.ws, talker!.ws, muted!.ws, bystander!.ws, ...anons];

      const doomed = await say(talker!.ws, 'something regrettable');
      const bannedSaid = [await say(banned!.ws, 'spam 1'), await say(banned!.ws, 'spam 2')];
      const expectations = [
        ...watchers.map((ws) => ws.waitFor('comment_deleted', (m) => m.commentIds.includes(doomed))),
        ...watchers.map((ws) => ws.waitFor('user_timed_out', (m) => m.user.id === muted!.id && m.reason === 'breathe')),
        ...[...watchers, kicked!.ws].map((ws) => ws.waitFor('user_kicked', (m) => m.user.id === kicked!.id)),
        ...[...watchers, banned!.ws].map((ws) => ws.waitFor('user_banned', (m) => m.user.id === banned!.id)),
        // A ban also hides what the banned user said, in one batched event.
        ...watchers.map((ws) => ws.waitFor('comment_deleted', (m) => bannedSaid.every((id) => m.commentIds.includes(id)))),
      ];
      expectAck(await mod.ws.request({ type: 'delete_comment', commentId: doomed }));
      expectAck(await mod.ws.request({ type: 'timeout_user', userId: muted!.id, durationSeconds: 120, reason: 'breathe' }));
      expectAck(await ch.streamer.ws.request({ type: 'kick_user', userId: kicked!.id, reason: 'out' }));
      expectAck(await mod.ws.request({ type: 'ban_user', userId: banned!.id, reason: 'spam' }));
      await Promise.all(expectations);

      expect(await kicked!.ws.closedPromise).toBe(4001);
      expect(await banned!.ws.closedPromise).toBe(4003);
      const refusedComment = await muted!.ws.request({ type: 'comment', content: 'am I back?' });
      expect(refusedComment).toMatchObject({ type: 'error', error: { code: 'timed_out' } });
      const retry = refusedComment.type === 'error' ? refusedComment.error.retryAfterSeconds : 0;
      expect(retry).toBeGreaterThan(110);
      expect(retry).toBeLessThanOrEqual(120);

      const rows = await server.app.db.selectFrom('live_stream_comments').select(['id', 'deleted_at', 'deleted_by']).where('stream_id', '=', ch.streamId).execute();
      for (const id of [doomed, ...bannedSaid]) expect(rows.find((r) => r.id === id)).toMatchObject({ deleted_by: mod.id });
      expect(rows.find((r) => r.id === doomed)?.deleted_at).not.toBeNull();

      // History for a newcomer leaves deleted comments out.
      const late = await ch.connect(await ch.join(uniqueName('late')));
      const history = late.of('chat_history')[0]!.comments.map((c) => c.id);
      expect(history).not.toContain(doomed);
      for (const id of bannedSaid) expect(history).not.toContain(id);
    });

    it('refuses a kicked user for five minutes, then lets them back', async () => {
      const server = await startTestServer(await fx.serverStorage(), { now });
      servers.push(server);
      const ch = await openChannel(server);
      const kicked = await ch.join(uniqueName('kicked'));
      const second = await ch.connect(kicked); // a second tab goes too
      expectAck(await ch.streamer.ws.request({ type: 'kick_user', userId: kicked.id }));
      expect(await kicked.ws.closedPromise).toBe(4001);
      expect(await second.closedPromise).toBe(4001);

      const soon = await tryJoin(server.wsUrl(ch.streamId), kicked.token);
      expect(soon).toMatchObject({ refusal: 'kicked', closeCode: 4001 });
      clockOffset += (LIMITS.kickBlockSeconds - 10) * 1000;
      expect(await tryJoin(server.wsUrl(ch.streamId), kicked.token)).toMatchObject({ refusal: 'kicked', closeCode: 4001 });
      clockOffset += 11_000;
      const later = await tryJoin(server.wsUrl(ch.streamId), kicked.token);
      expect(later.refusal).toBeNull();
      await later.ws.close();
    });

    it('keeps bans, roles, timeouts, settings and the log across a restart', async () => {
      const storage = await fx.serverStorage();
      const first = await startTestServer(storage, { now });
      expect(first.app.dbHandle.dialect).toBe(fx.dialect);
      dataDirs.push(first.dataDir);
      const ch = await openChannel(first);
      const mod = await ch.appoint(uniqueName('mod'), 'moderator');
      const vip = await ch.appoint(uniqueName('vip'), 'vip');
      const [banned, muted] = await Promise.all([ch.join(uniqueName('banned')), ch.join(uniqueName('muted'))]);
      expectAck(await mod.ws.request({ type: 'ban_user', userId: banned.id, reason: 'troll' }));
      expectAck(await mod.ws.request({ type: 'timeout_user', userId: muted.id, durationSeconds: 3600 }));
      expectAck(await mod.ws.request({ type: 'update_chat_settings', settings: { slowModeSeconds: 42, blockedWords: ['Grr'] } }));
      const kept = await say(vip.ws, 'remember me');
      await first.close({ keepData: true });

      const second = await startTestServer(storage, { now, dataDir: first.dataDir });
      servers.push(second);
      const url = second.wsUrl(ch.streamId);
      expect(await tryJoin(url, banned.token)).toMatchObject({ refusal: 'banned', closeCode: 4003 });

      const modAgain = await tryJoin(url, mod.token);
      const hello = modAgain.ws.of('connection_established')[0]!;
      expect(hello.role).toBe('moderator');
      expect(hello.chatSettings).toEqual({ slowModeSeconds: 42, blockedWords: ['grr'], accountsOnly: false });
      const history = await modAgain.ws.waitFor('chat_history');
      expect(history.comments.find((c) => c.id === kept)).toMatchObject({ content: 'remember me', highlighted: true, author: { role: 'vip' } });

      const mutedAgain = await tryJoin(url, muted.token);
      await mutedAgain.ws.waitFor('chat_history');
      expect(errorCode(await mutedAgain.ws.request({ type: 'comment', content: 'free?' }))).toBe('timed_out');

      const log = await modAgain.ws.request({ type: 'get_moderation_log' });
      if (log.type !== 'moderation_log') throw new Error(JSON.stringify(log));
      expect(log.entries.map((e) => e.action)).toEqual(['update_chat_settings', 'timeout', 'ban', 'add_vip', 'add_moderator']);
      expect(log.entries.find((e) => e.action === 'ban')).toMatchObject({ reason: 'troll', actor: { id: mod.id }, target: { id: banned.id } });
    });
  });
});
