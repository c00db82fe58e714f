import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { expectAck } from '../live/chat-testkit.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { describeCluster, startCluster, type TestCluster } from '../testing/cluster.ts';
import { bounded } from '../testing/process.ts';
import { api, registerUser, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

// Events the room bus could not carry (Redis down) are not replayed: each node re-checks its
// sockets against the database when its bus is back. The room sync and the sweep are slowed to
// once an hour here, so nothing but that re-check (and the live bus) can close a socket.

let names = 0;
const uniqueName = (base: string) => `${base}${(++names).toString(36)}${process.pid.toString(36)}`.slice(0, 32);

/** Resolves on the next time this node's Redis connection reports `event`. */
const redisEvent = (node: TestServer, event: 'reconnecting' | 'ready') => new Promise<void>((resolve) => node.app.cluster!.redis.once(event, () => resolve()));

async function joinOn(node: TestServer, streamId: number, token?: string): Promise<TestWsClient> {
  const ws = await TestWsClient.connect(node.wsUrl(streamId), token ? { token } : {});
  await ws.waitFor('chat_history');
  return ws;
}

const closedWith = (ws: TestWsClient, what: string) => bounded(ws.closedPromise, 15_000, what);

describeCluster('cluster mode: what the bus lost is enforced from the database', (services) => {
  let cluster: TestCluster;
  let nodes: TestServer[];
  let admin: { id: number; token: string };

  beforeAll(async () => {
    const hour = 3_600_000;
    cluster = await startCluster(services(), 2, { adminUsernames: ['root_admin'], sweeper: { ...defaultConfig().sweeper, intervalMs: hour, roomSyncIntervalMs: hour } });
    nodes = cluster.nodes;
    admin = await registerUser(nodes[0]!.url, 'root_admin');
  });
  afterAll(() => cluster?.close());

  async function openStream(on: TestServer): Promise<{ streamId: number; streamer: TestWsClient }> {
    const s = await registerUser(on.url, uniqueName('streamer'));
    const created = await api(on.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'lost events' } });
    expect(created.status).toBe(201);
    const streamId: number = created.body.stream.id;
    return { streamId, streamer: await joinOn(on, streamId, s.token) };
  }

  it('closes the sockets of an account an admin signed out, or disabled, on every node (4005)', async () => {
    const { streamId, streamer } = await openStream(nodes[0]!);
    const dana = await registerUser(nodes[0]!.url, uniqueName('dana'));
    const erin = await registerUser(nodes[0]!.url, uniqueName('erin'));
    const danaOnB = await joinOn(nodes[1]!, streamId, dana.token);
    const erinOnB = await joinOn(nodes[1]!, streamId, erin.token);
    const bystander = await joinOn(nodes[1]!, streamId);

    const out = await api(nodes[0]!.url, 'POST', `/api/admin/users/${dana.id}/logout`, { token: admin.token });
    expect(out.body).toEqual({ sessionsEnded: 1 });
    expect(await closedWith(danaOnB, 'signed-out socket on node B')).toBe(CLOSE_CODES.signedOut);

    const disabled = await api(nodes[0]!.url, 'POST', `/api/admin/users/${erin.id}/disable`, { token: admin.token, body: { disabled: true } });
    expect(disabled.status).toBe(200);
    expect(await closedWith(erinOnB, 'disabled account socket on node B')).toBe(CLOSE_CODES.signedOut);
    // Only theirs: the anonymous socket and the streamer stay.
    expect([bystander.closeCode, streamer.closeCode]).toEqual([null, null]);
    await Promise.all([streamer.close(), bystander.close()]);
  });

  it('after a Redis outage, closes what was refused meanwhile (ban 4003, kick 4001, sign-out 4005, stream ended 4004) and delivers the comments acked meanwhile, in order', async () => {
    const { streamId, streamer } = await openStream(nodes[0]!);
    const ended = await openStream(nodes[0]!);
    const [banned, kicked, signedOut, talker] = await Promise.all(['ban', 'kick', 'out', 'talk'].map((n) => registerUser(nodes[0]!.url, uniqueName(n))));
    // The banned and kicked users also have a socket on node A: when it closes, node A's own publish has failed.
    const bannedOnA = await joinOn(nodes[0]!, streamId, banned!.token);
    const kickedOnA = await joinOn(nodes[0]!, streamId, kicked!.token);
    const bannedOnB = await joinOn(nodes[1]!, streamId, banned!.token);
    const kickedOnB = await joinOn(nodes[1]!, streamId, kicked!.token);
    const signedOutOnB = await joinOn(nodes[1]!, streamId, signedOut!.token);
    const talkerOnB = await joinOn(nodes[1]!, streamId, talker!.token);
    const watcherOnB = await joinOn(nodes[1]!, streamId);
    const endedWatcherOnB = await joinOn(nodes[1]!, ended.streamId);

    const down = Promise.all(nodes.map((n) => redisEvent(n, 'reconnecting')));
    await services().redis.halt();
    await down;

    // Everything below is stored in PostgreSQL; none of it can reach node B's sockets by the bus.
    expect((await api(nodes[0]!.url, 'POST', `/api/admin/users/${signedOut!.id}/logout`, { token: admin.token })).body).toEqual({ sessionsEnded: 1 });
    const acked: number[] = [];
    const say = async (ws: TestWsClient, content: string) => {
      const reply = await ws.request({ type: 'comment', content });
      if (reply.type !== 'comment_ack') throw new Error(JSON.stringify(reply));
      acked.push(reply.commentId);
    };
    // From node A only: node B publishes nothing meanwhile (a publish of its own failing would make it re-check at once).
    for (let i = 1; i <= 4; i++) await say(streamer, `outage ${i}`);
    expectAck(await streamer.request({ type: 'ban_user', userId: banned!.id, reason: 'spam during the outage' }));
    expectAck(await streamer.request({ type: 'kick_user', userId: kicked!.id, reason: 'cool off' }));
    expectAck(await ended.streamer.request({ type: 'end_stream' }));
    // Node A closes its own sockets once its publishes fail: by then every event above is lost.
    expect(await closedWith(bannedOnA, 'banned socket on node A')).toBe(CLOSE_CODES.banned);
    expect(await closedWith(kickedOnA, 'kicked socket on node A')).toBe(CLOSE_CODES.kicked);
    expect([bannedOnB, kickedOnB, signedOutOnB, endedWatcherOnB].map((ws) => ws.closeCode)).toEqual([null, null, null, null]);
    expect(watcherOnB.of('comment')).toEqual([]);

    // Redis comes back empty, on the same port.
    const up = Promise.all(nodes.map((n) => redisEvent(n, 'ready')));
    await services().redis.resume();
    await up;
    expect(await closedWith(bannedOnB, 'banned socket on node B')).toBe(CLOSE_CODES.banned);
    expect(await closedWith(kickedOnB, 'kicked socket on node B')).toBe(CLOSE_CODES.kicked);
    expect(await closedWith(signedOutOnB, 'signed-out socket on node B')).toBe(CLOSE_CODES.signedOut);
    expect(await closedWith(endedWatcherOnB, 'socket of the ended stream on node B')).toBe(CLOSE_CODES.streamEnded);
    expect((await endedWatcherOnB.waitFor('stream_ended')).reason).toBe('streamer_ended');
    // The others on node B are told, as the live path tells them.
    expect((await watcherOnB.waitFor('user_banned', (m) => m.user.id === banned!.id)).reason).toBe('spam during the outage');
    expect((await watcherOnB.waitFor('user_kicked', (m) => m.user.id === kicked!.id)).reason).toBe('cool off');

    // Comments go on from both nodes, after the ones acked during the outage.
    await say(talkerOnB, 'after (B)');
    await say(streamer, 'after (A)');
    const lastId = Math.max(...acked);
    for (const ws of [watcherOnB, talkerOnB, streamer]) {
      await ws.waitFor('comment', (m) => m.comment.id === lastId);
      expect(ws.of('comment').map((m) => m.comment.id)).toEqual(acked);
    }
    // And a rejoin is refused on both nodes, as before the outage.
    for (const node of nodes) {
      const again = await TestWsClient.connect(node.wsUrl(streamId), { token: banned!.token });
      expect(await again.closedPromise).toBe(CLOSE_CODES.banned);
    }
    expect([watcherOnB.closeCode, talkerOnB.closeCode, streamer.closeCode]).toEqual([null, null, null]);
    await Promise.all([streamer.close(), watcherOnB.close(), talkerOnB.close()]);
  });
});
