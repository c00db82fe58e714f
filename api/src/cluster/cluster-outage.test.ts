import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { describeCluster, startCluster, type TestCluster } from '../testing/cluster.ts';
import { publishCamera } from '../testing/publish.ts';
import { bounded } from '../testing/process.ts';
import { api, registerUser, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

/** Resolves once `check` holds, asking after each heartbeat of the node (heartbeats are what repair the cluster's state). */
function afterBeats(node: TestServer, check: () => Promise<boolean>, what: string): Promise<void> {
  let stop = () => {};
  const held = new Promise<void>((resolve) => {
    stop = node.app.cluster!.onBeat(async () => {
      if (await check()) resolve();
    });
  });
  return bounded(held, 10_000, what).finally(() => stop());
}

/** Resolves on the next time this node's Redis connection reports `event`. */
const redisEvent = (node: TestServer, event: 'reconnecting' | 'ready') => new Promise<void>((resolve) => node.app.cluster!.redis.once(event, () => resolve()));

describeCluster('cluster mode: Redis unreachable', (services) => {
  let cluster: TestCluster;
  let nodes: TestServer[];

  beforeAll(async () => {
    // The room sync reads the stored comment count often: what the bus could not carry is read back from PostgreSQL.
    cluster = await startCluster(services(), 2, { sweeper: { ...defaultConfig().sweeper, roomSyncIntervalMs: 200 } });
    nodes = cluster.nodes;
  });
  afterAll(() => cluster?.close());

  it('says so in /health, loses no acknowledged comment, and serves the stream again once Redis is back', async () => {
    const s = await registerUser(nodes[0]!.url, 'outage_streamer');
    const created = await api(nodes[0]!.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'outage' } });
    const streamId: number = created.body.stream.id;
    const streamer = await TestWsClient.connect(nodes[0]!.wsUrl(streamId), { token: s.token });
    await streamer.waitFor('chat_history');
    const producerId = await publishCamera(streamer);
    const onB = await TestWsClient.connect(nodes[1]!.wsUrl(streamId));
    await onB.waitFor('chat_history');

    const down = Promise.all(nodes.map((n) => redisEvent(n, 'reconnecting')));
    await services().redis.halt();
    await down;
    for (const node of nodes) {
      const health = await api(node.url, 'GET', '/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'degraded', db: true, bus: false, cluster: { redis: false } });
    }

    // PostgreSQL still stores: the comment is acknowledged, and reaches node B's socket from the database.
    const reply = await streamer.request({ type: 'comment', content: 'while Redis is down' });
    expect(reply.type).toBe('comment_ack');
    const seen = await onB.waitFor('comment', (m) => m.comment.content === 'while Redis is down');
    expect(reply.type === 'comment_ack' && seen.comment.id === reply.commentId).toBe(true);
    expect(streamer.of('comment').filter((m) => m.comment.content === 'while Redis is down')).toHaveLength(1);

    const up = Promise.all(nodes.map((n) => redisEvent(n, 'ready')));
    await services().redis.resume();
    await up;
    // The bus reconnects on its own connections; /health says when everything is back.
    for (const node of nodes) {
      await afterBeats(node, async () => (await api(node.url, 'GET', '/health')).status === 200, 'health back to 200');
      expect((await api(node.url, 'GET', '/health')).body).toMatchObject({ status: 'ok', bus: true, cluster: { redis: true } });
    }
    // Redis came back empty: the origin claims its stream again, and a new viewer on B is served through a pipe.
    await afterBeats(nodes[1]!, async () => (await nodes[1]!.app.cluster!.redis.hget(`${cluster.name}:origin:${streamId}`, 'node')) === 'node-a', 'origin claimed again');
    const late = await TestWsClient.connect(nodes[1]!.wsUrl(streamId));
    const established = await late.waitFor('connection_established');
    const transport = await late.request({ type: 'create_transport', direction: 'recv' });
    if (transport.type !== 'offer' || transport.kind !== 'transport') throw new Error(JSON.stringify(transport));
    const consumed = await late.request({ type: 'consume', transportId: transport.transport.id, producerId, rtpCapabilities: established.routerRtpCapabilities });
    expect(consumed).toMatchObject({ type: 'offer', kind: 'consumer' });

    // And comments flow through the bus again, once each.
    const after = await streamer.request({ type: 'comment', content: 'Redis is back' });
    expect(after.type).toBe('comment_ack');
    await onB.waitFor('comment', (m) => m.comment.content === 'Redis is back');
    expect(onB.of('comment').map((m) => m.comment.content)).toEqual(['while Redis is down', 'Redis is back']);
    await Promise.all([streamer.close(), onB.close(), late.close()]);
  });
});
