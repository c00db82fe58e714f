import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StreamRouter } from '@redred/sfu';
import { describeCluster, startCluster, TEST_CLUSTER_SECRET, type TestCluster } from '../testing/cluster.ts';
import { publishCamera } from '../testing/publish.ts';
import { api, registerUser, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { CLUSTER_SECRET_HEADER, pipesPath } from './origin-link.ts';
import { OrphanSweep } from './orphans.ts';

let names = 0;
const uniqueName = (base: string) => `${base}${(++names).toString(36)}${process.pid.toString(36)}`.slice(0, 32);

/** The next `remotepipe` event of a stream's media on one node. */
const nextPipeEvent = (media: StreamRouter) => new Promise<string>((resolve) => media.once('remotepipe', resolve));

/** A viewer's recv transport and a consumer of `producerId`, as a client does it. */
async function consumeOn(ws: TestWsClient, producerId: string) {
  const offer = await ws.request({ type: 'create_transport', direction: 'recv' });
  if (offer.type !== 'offer' || offer.kind !== 'transport') throw new Error(JSON.stringify(offer));
  const established = await ws.waitFor('connection_established');
  return ws.request({ type: 'consume', transportId: offer.transport.id, producerId, rtpCapabilities: established.routerRtpCapabilities });
}

describeCluster('cluster mode: media from the origin node to edge nodes', (services) => {
  let cluster: TestCluster;
  let nodes: TestServer[];

  beforeAll(async () => {
    cluster = await startCluster(services(), 3, { cluster: { pipeLingerMs: 0 } });
    nodes = cluster.nodes;
  });
  afterAll(() => cluster?.close());

  async function openStream() {
    const s = await registerUser(nodes[0]!.url, uniqueName('streamer'));
    const created = await api(nodes[0]!.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'media' } });
    const streamId: number = created.body.stream.id;
    const streamer = await TestWsClient.connect(nodes[0]!.wsUrl(streamId), { token: s.token });
    return { streamId, streamer, token: s.token };
  }

  it('makes the node receiving the upload the origin, and serves viewers of other nodes through one pipe each, closed after their last viewer', async () => {
    const { streamId, streamer } = await openStream();
    // A viewer on node C before the streamer publishes hears of the producer and consumes it from there.
    const early = await TestWsClient.connect(nodes[2]!.wsUrl(streamId));
    const producerId = await publishCamera(streamer);
    const added = await early.waitFor('producer_added');
    expect(added.producer).toMatchObject({ id: producerId, kind: 'video', source: 'camera' });
    const origin = await nodes[1]!.app.cluster!.redis.hgetall(`${cluster.name}:origin:${streamId}`);
    expect(origin.node).toBe('node-a');

    const mediaC = nodes[2]!.app.rooms.get(streamId)!.media;
    const openedC = nextPipeEvent(mediaC);
    const consumed = await consumeOn(early, producerId);
    expect(consumed).toMatchObject({ type: 'offer', kind: 'consumer', consumer: { producerId, kind: 'video' } });
    expect(await openedC).toBe('open');

    // Node B: its viewers see the producer in connection_established, two of them share one pipe.
    const viewersB = [await TestWsClient.connect(nodes[1]!.wsUrl(streamId)), await TestWsClient.connect(nodes[1]!.wsUrl(streamId))];
    for (const ws of viewersB) expect((await ws.waitFor('connection_established')).producers.map((p) => p.id)).toEqual([producerId]);
    const mediaB = nodes[1]!.app.rooms.get(streamId)!.media;
    for (const ws of viewersB) expect((await consumeOn(ws, producerId)).type).toBe('offer');
    expect(mediaB.pipeCount()).toBe(1);
    expect(mediaC.pipeCount()).toBe(1);
    // The origin has one pipe per edge node; the streamer still uploads once (one producer).
    const originRoom = nodes[0]!.app.rooms.get(streamId)!;
    expect(originRoom.cluster!.pipeCount).toBe(2);
    expect(originRoom.media.counts()).toMatchObject({ producers: 1, consumers: 0 });

    const closedB = nextPipeEvent(mediaB);
    await Promise.all(viewersB.map((ws) => ws.close()));
    expect(await closedB).toBe('close');
    expect(mediaB.pipeCount()).toBe(0);
    expect(mediaC.pipeCount()).toBe(1);
    await Promise.all([early.close(), streamer.close()]);
  });

  it('tells edge viewers the producer is gone when the streamer stops, and pipes the next upload from whichever node receives it', async () => {
    const { streamId, streamer, token } = await openStream();
    const firstProducer = await publishCamera(streamer);
    const viewer = await TestWsClient.connect(nodes[1]!.wsUrl(streamId));
    expect((await consumeOn(viewer, firstProducer)).type).toBe('offer');
    await streamer.close();
    expect((await viewer.waitFor('producer_removed')).producerId).toBe(firstProducer);
    await viewer.waitFor('consumer_closed');

    // The streamer comes back through node C: C is the origin now.
    const again = await TestWsClient.connect(nodes[2]!.wsUrl(streamId), { token });
    const secondProducer = await publishCamera(again);
    expect((await viewer.waitFor('producer_added', (m) => m.producer.id === secondProducer)).producer.kind).toBe('video');
    const origin = await nodes[0]!.app.cluster!.redis.hget(`${cluster.name}:origin:${streamId}`, 'node');
    expect(origin).toBe('node-c');
    expect((await consumeOn(viewer, secondProducer)).type).toBe('offer');
    expect(nodes[2]!.app.rooms.get(streamId)!.cluster!.pipeCount).toBe(1);
    await Promise.all([viewer.close(), again.close()]);
  });

  it('ends a live stream whose origin is gone once the grace period passed without a new upload, and not before', async () => {
    const { streamId, streamer } = await openStream();
    await publishCamera(streamer);
    await streamer.waitFor('stream_live');
    const watcher = await TestWsClient.connect(nodes[1]!.wsUrl(streamId));
    await watcher.waitFor('connection_established');
    // The origin's node vanishes from the registry as a crashed one does (node A itself stays up for the other tests).
    const app = nodes[1]!.app;
    await app.cluster!.redis.hset(`${cluster.name}:origin:${streamId}`, { node: 'node-gone', producers: '[]', since: 0 });
    let clock = Date.now();
    const sweep = new OrphanSweep({ ctx: { ...app.liveContext, now: () => clock }, rooms: app.rooms, node: app.cluster!, origins: app.liveContext.origins!, graceMs: 60_000, log: app.log });
    expect(await sweep.run()).toEqual([]);
    expect(await app.cluster!.redis.exists(`${cluster.name}:origin:${streamId}`)).toBe(0);
    clock += 59_000;
    expect(await sweep.run()).toEqual([]);
    clock += 2000;
    // Only this one: the earlier tests' streams lost their streamers, not their origin's node.
    expect(await sweep.run()).toEqual([streamId]);
    expect((await watcher.waitFor('stream_ended')).reason).toBe('server_restart');
    await streamer.close();
  });

  it('refuses node-to-node calls without the cluster secret, and pipe requests to a node that is not the origin', async () => {
    const { streamId, streamer } = await openStream();
    await publishCamera(streamer);
    const endpoint = { ip: '127.0.0.1', port: 9, srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: 'a2V5' } };
    const body = { edgeNodeId: 'node-x', endpoint };
    const anonymous = await api(nodes[0]!.url, 'POST', pipesPath(streamId), { body });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error.code).toBe('cluster_forbidden');
    const wrong = await api(nodes[0]!.url, 'POST', pipesPath(streamId), { body, headers: { [CLUSTER_SECRET_HEADER]: 'not the secret at all' } });
    expect(wrong.status).toBe(403);
    const notOrigin = await api(nodes[1]!.url, 'POST', pipesPath(streamId), { body, headers: { [CLUSTER_SECRET_HEADER]: TEST_CLUSTER_SECRET } });
    expect(notOrigin.status).toBe(409);
    expect(notOrigin.body.error.code).toBe('not_origin');
    const bad = await api(nodes[0]!.url, 'POST', pipesPath(streamId), { body: { edgeNodeId: 'x', endpoint: { ip: '127.0.0.1' } }, headers: { [CLUSTER_SECRET_HEADER]: TEST_CLUSTER_SECRET } });
    expect(bad.status).toBe(400);
    await streamer.close();
  });

});
