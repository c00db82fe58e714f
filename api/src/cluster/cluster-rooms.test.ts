import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectAck } from '../live/chat-testkit.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { describeCluster, startCluster, type TestCluster } from '../testing/cluster.ts';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let names = 0;
const uniqueName = (base: string) => `${base}${(++names).toString(36)}${process.pid.toString(36)}`.slice(0, 32);

/** A socket on one chosen node, once its history is out (nothing before it counts as missed). */
async function joinOn(node: TestServer, streamId: number, token?: string): Promise<TestWsClient> {
  const ws = await TestWsClient.connect(node.wsUrl(streamId), token ? { token } : {});
  await ws.waitFor('chat_history');
  return ws;
}

describeCluster('cluster mode: rooms on three nodes sharing Redis and PostgreSQL', (services) => {
  let clock = Date.now();
  let cluster: TestCluster;
  let nodes: TestServer[];

  beforeAll(async () => {
    cluster = await startCluster(services(), 3, {}, { now: () => clock });
    nodes = cluster.nodes;
  });
  afterAll(() => cluster?.close());

  /** A streamer on node A with a new stream. */
  async function openStream(): Promise<{ streamId: number; streamer: { id: number; token: string; ws: TestWsClient } }> {
    const s = await registerUser(nodes[0]!.url, uniqueName('streamer'));
    const created = await api(nodes[0]!.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'cluster' } });
    expect(created.status).toBe(201);
    const streamId: number = created.body.stream.id;
    return { streamId, streamer: { ...s, ws: await joinOn(nodes[0]!, streamId, s.token) } };
  }

  it('reports the room bus and the node in /health', async () => {
    for (const [i, node] of nodes.entries()) {
      const health = await api(node.url, 'GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', db: true, bus: true, cluster: { node: `node-${'abc'[i]}`, redis: true } });
    }
  });

  it('shows every chat socket on every node the same 500 comments from 10 senders on different nodes, once each, in id order', async () => {
    const { streamId, streamer } = await openStream();
    // Moderators, so the chat rate limit does not stretch the test; spread over the three nodes.
    const senders = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const u = await registerUser(nodes[0]!.url, uniqueName(`s${i}x`));
        expectAck(await streamer.ws.request({ type: 'add_moderator', userId: u.id }));
        return joinOn(nodes[i % 3]!, streamId, u.token);
      }),
    );
    const watchers = await Promise.all(
      nodes.flatMap((node) => [joinOn(node, streamId), registerUser(node.url, uniqueName('w')).then((u) => joinOn(node, streamId, u.token))]),
    );
    const perSender = 50;
    const acked = new Map<string, number>();
    // A socket that joins node C while comments flow: history and live meet with no gap and no overlap.
    let reached150!: () => void;
    const midJoin = new Promise<void>((r) => (reached150 = r)).then(() => joinOn(nodes[2]!, streamId));
    await Promise.all(
      senders.map(async (ws, si) => {
        let next = 0;
        const lane = async () => {
          while (next < perSender) {
            const content = `s${si}-${next++}`;
            const reply = await ws.request({ type: 'comment', content });
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
    const lastId = Math.max(...acked.values());

    const everyone = [streamer.ws, ...senders, ...watchers];
    const seen = await Promise.all(
      everyone.map(async (ws) => {
        await ws.waitFor('comment', (m) => m.comment.id === lastId, 30_000);
        return ws.of('comment').map((m) => m.comment.content);
      }),
    );
    for (const contents of seen) expect(contents).toEqual(byId);

    const joiner = await midJoin;
    await joiner.waitFor('comment', (m) => m.comment.id === lastId, 30_000);
    const fromHistory = joiner.of('chat_history')[0]!.comments.map((c) => c.content);
    const live = joiner.of('comment').map((m) => m.comment.content);
    expect([...fromHistory, ...live]).toEqual(byId.slice(byId.indexOf(fromHistory[0] ?? live[0]!)));
    expect(fromHistory.length + live.length).toBeGreaterThanOrEqual(live.length);

    const stored = await nodes[1]!.app.db.selectFrom('live_stream_comments').select('content').where('stream_id', '=', streamId).orderBy('id').execute();
    expect(stored.map((r) => r.content)).toEqual(byId);
    for (const ws of [...everyone, joiner]) await ws.close();
  });

  it('closes a banned user’s socket on another node with 4003 and refuses the rejoin on every node', async () => {
    const { streamId, streamer } = await openStream();
    const target = await registerUser(nodes[2]!.url, uniqueName('target'));
    const targetWs = await joinOn(nodes[2]!, streamId, target.token);
    const onB = await joinOn(nodes[1]!, streamId);
    const started = performance.now();
    expectAck(await streamer.ws.request({ type: 'ban_user', userId: target.id, reason: 'spam' }));
    const code = await targetWs.closedPromise;
    const delayMs = performance.now() - started;
    console.log(`ban on node A closed the target's socket on node C after ${delayMs.toFixed(0)} ms`);
    expect(code).toBe(CLOSE_CODES.banned);
    const banned = await onB.waitFor('user_banned', (m) => m.user.id === target.id);
    expect(banned.reason).toBe('spam');
    for (const node of nodes) {
      const again = await TestWsClient.connect(node.wsUrl(streamId), { token: target.token });
      expect(await again.closedPromise).toBe(CLOSE_CODES.banned);
      expect(again.of('error')[0]?.error.code).toBe('banned');
    }
    await Promise.all([streamer.ws.close(), onB.close()]);
  });

  it('counts an account watching through two nodes once, lists viewers of every node, and records one peak and one average', async () => {
    const { streamId, streamer } = await openStream();
    const t0 = clock;
    await goLive(streamer.ws);
    const fan = await registerUser(nodes[0]!.url, uniqueName('fan'));
    const tabB = await joinOn(nodes[1]!, streamId, fan.token);
    const tabC = await joinOn(nodes[2]!, streamId, fan.token);
    const anonymousA = await joinOn(nodes[0]!, streamId);
    const settled = async (viewers: number) => {
      await Promise.all([tabC, streamer.ws].map((ws) => ws.waitFor('viewers_update', (m) => m.viewers === viewers)));
      // Whichever node counted has written the count once its tick is over.
      await Promise.all(nodes.map((n) => n.app.rooms.get(streamId)?.flushPresence()));
    };
    await settled(2);
    const list = await streamer.ws.request({ type: 'list_viewers' });
    if (list.type !== 'viewer_list') throw new Error(JSON.stringify(list));
    expect(list.viewers.map((v) => v.username)).toEqual([fan.username]);
    expect(list).toMatchObject({ total: 1, anonymous: 1 });
    const joined = await streamer.ws.waitFor('user_joined', (m) => m.users.some((u) => u.id === fan.id));
    expect(joined.users.filter((u) => u.id === fan.id)).toHaveLength(1);

    clock = t0 + 10_000;
    await tabB.close();
    await anonymousA.close();
    await settled(1);
    clock = t0 + 20_000;
    expectAck(await streamer.ws.request({ type: 'end_stream' }));
    await tabC.waitFor('stream_ended');
    const stats = await api(nodes[2]!.url, 'GET', `/api/live/${streamId}/stats`);
    expect(stats.body.stats).toMatchObject({ peakViewers: 2, uniqueViewers: 2, durationMs: 20_000 });
    // Two people for 10 s, then one for 10 s.
    expect(stats.body.stats.averageViewers).toBeCloseTo(1.5, 5);
    clock = Date.now();
  });

  it('applies chat settings changed on two nodes at once everywhere, both changes kept, and enforces them on a third', async () => {
    const { streamId, streamer } = await openStream();
    const mod = await registerUser(nodes[0]!.url, uniqueName('mod'));
    expectAck(await streamer.ws.request({ type: 'add_moderator', userId: mod.id }));
    const modOnB = await joinOn(nodes[1]!, streamId, mod.token);
    const staffOnC = await joinOn(nodes[2]!, streamId, mod.token);
    const viewer = await registerUser(nodes[0]!.url, uniqueName('v'));
    const viewerOnC = await joinOn(nodes[2]!, streamId, viewer.token);
    const [a, b] = await Promise.all([
      streamer.ws.request({ type: 'update_chat_settings', settings: { blockedWords: ['zonk'] } }),
      modOnB.request({ type: 'update_chat_settings', settings: { slowModeSeconds: 7 } }),
    ]);
    expectAck(a);
    expectAck(b);
    const both = (m: { settings: { blockedWords: string[]; slowModeSeconds: number } }) => m.settings.blockedWords.includes('zonk') && m.settings.slowModeSeconds === 7;
    for (const ws of [streamer.ws, modOnB, staffOnC]) await ws.waitFor('chat_settings', both);
    expect(nodes.map((n) => n.app.rooms.get(streamId)!.chatSettings)).toEqual(nodes.map(() => expect.objectContaining({ blockedWords: ['zonk'], slowModeSeconds: 7 })));
    // A viewer sees the settings without the blocked words, and is held to them.
    await viewerOnC.waitFor('chat_settings', (m) => m.settings.slowModeSeconds === 7);
    const refused = await viewerOnC.request({ type: 'comment', content: 'what a zonk' });
    expect(refused.type === 'error' && refused.error.code).toBe('blocked_word');
    await Promise.all([streamer.ws, modOnB, staffOnC, viewerOnC].map((ws) => ws.close()));
  });

  it('ends the stream on every node: each socket hears stream_ended and is closed', async () => {
    const { streamId, streamer } = await openStream();
    const onB = await joinOn(nodes[1]!, streamId);
    const onC = await joinOn(nodes[2]!, streamId);
    expectAck(await streamer.ws.request({ type: 'end_stream' }));
    for (const ws of [onB, onC]) {
      expect((await ws.waitFor('stream_ended')).reason).toBe('streamer_ended');
      expect(await ws.closedPromise).toBe(CLOSE_CODES.streamEnded);
    }
    expect(await streamer.ws.closedPromise).toBe(CLOSE_CODES.streamEnded);
    for (const node of nodes) expect(node.app.rooms.get(streamId)).toBeUndefined();
  });
});
