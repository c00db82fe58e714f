import { describeEachDialect } from '@redred/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNTS_ONLY_MIN_AGE_MS } from './chat-rules.ts';
import { startTestServer, type TestServer } from '../testing/server.ts';
import type { TestWsClient } from '../testing/ws-client.ts';
import { errorCode, expectAck, openChannel, say, uniqueName, type Channel } from './chat-testkit.ts';

describeEachDialect('chat', (fx) => {
  let clockOffset = 0;
  /** While set, the server's clock stands still: pacing checks do not depend on how busy the machine is. */
  let frozenAt: number | null = null;
  const now = () => frozenAt ?? Date.now() + clockOffset;
  let server: TestServer;

  beforeAll(async () => {
    // The per-socket message rate is not under test here: lifted so senders can pipeline.
    server = await startTestServer({ wsMessagesPerSecond: 10_000, wsMessageBurst: 10_000, ...(await fx.serverStorage()) }, { now });
    expect(server.app.dbHandle.dialect).toBe(fx.dialect);
  });

  afterAll(async () => {
    await server?.close();
  });

  const storedContents = async (streamId: number) =>
    (await server.app.db.selectFrom('live_stream_comments').select('content').where('stream_id', '=', streamId).orderBy('id').execute()).map((r) => r.content);

  /** Waits until `ws` has seen a comment with this content, then returns every comment content it saw. */
  async function seenBy(ws: TestWsClient, last: string): Promise<string[]> {
    await ws.waitFor('comment', (m) => m.comment.content === last);
    return ws.of('comment').map((m) => m.comment.content);
  }

  describe('chat rules, enforced by the server', () => {
    let ch: Channel;
    beforeAll(async () => {
      ch = await openChannel(server);
    });

    it('refuses by length, content, blocked word, rate and slow mode, each with its own code, storing and broadcasting none', async () => {
      const observer = await ch.anonymous();
      const [alice, bob, carol] = await Promise.all([ch.join(uniqueName('alice')), ch.join(uniqueName('bob')), ch.join(uniqueName('carol'))]);
      const vip = await ch.appoint(uniqueName('vip'), 'vip');
      const accepted: string[] = [];
      const refusedWith = async (ws: TestWsClient, content: string) => {
        const reply = await ws.request({ type: 'comment', content });
        if (reply.type === 'comment_ack') accepted.push(content.trim());
        return reply.type === 'error' ? reply.error : null;
      };

      expect((await refusedWith(alice.ws, 'x'.repeat(501)))?.code).toBe('comment_too_long');
      expect(await refusedWith(alice.ws, `  ${'é'.repeat(500)}  `)).toBeNull();
      expect((await refusedWith(alice.ws, '   '))?.code).toBe('comment_empty');
      expect((await refusedWith(alice.ws, 'line\nbreak'))?.code).toBe('comment_invalid');
      expect((await refusedWith(alice.ws, 'abc\u202Egnp.exe'))?.code).toBe('comment_invalid');

      expectAck(await ch.streamer.ws.request({ type: 'update_chat_settings', settings: { blockedWords: ['Darn'] } }));
      frozenAt = now();
      expect((await refusedWith(bob.ws, 'oh ＤＡＲＮ it'))?.code).toBe('blocked_word');
      expect(await refusedWith(bob.ws, 'darnation is fine')).toBeNull();

      // Rate limit: three in two seconds, the fourth is refused with a retry hint.
      expect(await refusedWith(bob.ws, 'two')).toBeNull();
      expect(await refusedWith(bob.ws, 'three')).toBeNull();
      const limited = await refusedWith(bob.ws, 'four');
      expect(limited?.code).toBe('chat_rate_limited');
      expect(limited?.retryAfterSeconds).toBe(2);

      // Slow mode: one comment per 5 s for viewers; VIPs are exempt.
      expectAck(await ch.streamer.ws.request({ type: 'update_chat_settings', settings: { slowModeSeconds: 5 } }));
      expect(await refusedWith(carol.ws, 'first')).toBeNull();
      const slow = await refusedWith(carol.ws, 'second');
      expect(slow?.code).toBe('slow_mode');
      expect(slow?.retryAfterSeconds).toBe(5);
      expect(await refusedWith(vip.ws, 'vip one')).toBeNull();
      expect(await refusedWith(vip.ws, 'vip two')).toBeNull();
      expectAck(await ch.streamer.ws.request({ type: 'update_chat_settings', settings: { slowModeSeconds: 0 } }));
      frozenAt = null;

      const marker = 'end of refusals';
      await say(ch.streamer.ws, marker);
      accepted.push(marker);
      expect(await seenBy(observer, marker)).toEqual(accepted);
      expect(await storedContents(ch.streamId)).toEqual(accepted);
    });

    it('keeps fresh accounts out of an accounts-only chat until they are old enough', async () => {
      const fresh = await ch.join(uniqueName('fresh'));
      const vip = await ch.appoint(uniqueName('freshvip'), 'vip');
      expectAck(await ch.streamer.ws.request({ type: 'update_chat_settings', settings: { accountsOnly: true } }));
      expect(errorCode(await fresh.ws.request({ type: 'comment', content: 'first!' }))).toBe('accounts_only');
      await say(vip.ws, 'VIPs need no waiting');
      clockOffset += ACCOUNTS_ONLY_MIN_AGE_MS + 1000;
      await say(fresh.ws, 'old enough now');
      expectAck(await ch.streamer.ws.request({ type: 'update_chat_settings', settings: { accountsOnly: false } }));
    });
  });

  describe('ordering and history', () => {
    it('shows two sockets the same 500 comments from 10 senders in the same order, none missing or repeated', async () => {
      const ch = await openChannel(server);
      const observers = [await ch.anonymous(), (await ch.join(uniqueName('watcher'))).ws];
      // Moderators, so the chat rate limit does not stretch the test to half a minute.
      const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => ch.appoint(uniqueName(`s${i}x`), 'moderator')));
      const perSender = 50;
      const acked = new Map<string, number>();
      // Joins while comments flow, once 150 are acknowledged: history and live must meet with no gap and no overlap.
      let reached150!: () => void;
      const midJoin = new Promise<void>((r) => (reached150 = r)).then(() => ch.anonymous());
      await Promise.all(
        senders.map(async (s, si) => {
          // Pipelined: four in flight per sender, each acknowledgement sending the next, so comments go out in order.
          let next = 0;
          const lane = async () => {
            while (next < perSender) {
              const content = `s${si}-${next++}`;
              const reply = await s.ws.request({ type: 'comment', content });
              if (reply.type !== 'comment_ack') throw new Error(JSON.stringify(reply));
              acked.set(content, reply.commentId);
              if (acked.size === 150) reached150();
            }
          };
          await Promise.all([lane(), lane(), lane(), lane()]);
        }),
      );
      expect(acked.size).toBe(500);

      const byId = [...acked.entries()].sort((a, b) => a[1] - b[1]).map(([content]) => content);
      const streams = await Promise.all(observers.map(async (ws) => {
        await ws.waitFor('comment', (m) => m.comment.id === Math.max(...acked.values()));
        return ws.of('comment').map((m) => m.comment.content);
      }));
      expect(streams[0]).toHaveLength(500);
      expect(new Set(streams[0]).size).toBe(500);
      expect(streams[1]).toEqual(streams[0]);
      // The broadcast order is the commit (id) order, and each sender's comments keep the order sent.
      expect(streams[0]).toEqual(byId);
      for (let si = 0; si < 10; si++) {
        const mine = streams[0]!.filter((c) => c.startsWith(`s${si}-`));
        expect(mine).toEqual(Array.from({ length: perSender }, (_, i) => `s${si}-${i}`));
      }
      expect(await storedContents(ch.streamId)).toEqual(byId);

      const joiner = await midJoin;
      await joiner.waitFor('comment', (m) => m.comment.id === Math.max(...acked.values()));
      const fromHistory = joiner.of('chat_history')[0]!.comments.map((c) => c.content);
      const live = joiner.of('comment').map((m) => m.comment.content);
      expect(fromHistory.length).toBeGreaterThan(0);
      expect(live.length).toBeGreaterThan(0);
      expect([...fromHistory, ...live]).toEqual(byId.slice(byId.indexOf(fromHistory[0]!)));

      // A newcomer's history: the last 50, oldest first, deleted ones left out, with role badges.
      const deleted = acked.get('s3-49')!;
      expectAck(await ch.streamer.ws.request({ type: 'delete_comment', commentId: deleted }));
      const late = await ch.anonymous();
      const history = late.of('chat_history')[0]!.comments;
      expect(history.map((c) => c.content)).toEqual(byId.filter((c) => c !== 's3-49').slice(-50));
      expect(history.every((c) => c.author.role === 'moderator' && c.highlighted)).toBe(true);
    });

    it('delivers the comments committed within one flush window as one frame each, in commit order', async () => {
      const ch = await openChannel(server);
      const watcher = await ch.anonymous();
      // The streamer skips the chat rate limit: ten comments pipelined, committed within a few turns of the event loop.
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => ch.streamer.ws.request({ type: 'comment', content: `burst ${i}` })));
      const ids = replies.map((r) => (r.type === 'comment_ack' ? r.commentId : 0));
      expect(ids.every((id) => id > 0)).toBe(true);
      await watcher.waitFor('comment', (m) => m.comment.id === Math.max(...ids));
      expect(watcher.of('comment').map((m) => m.comment.content)).toEqual(Array.from({ length: 10 }, (_, i) => `burst ${i}`));
      const commentFrames = (watcher.framesByType.get('comment') ?? 0) + (watcher.framesByType.get('comments') ?? 0);
      expect(watcher.framesByType.get('comments') ?? 0).toBeGreaterThan(0);
      expect(commentFrames).toBeLessThan(10);
    });
  });
});
