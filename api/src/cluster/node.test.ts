import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { describeWithRedis } from '../testing/redis.ts';
import { ClusterNode, type NodeLoad } from './node.ts';
import { OriginMap } from './origin-map.ts';

const log = pino({ level: 'silent' });
const load = (rooms: number): NodeLoad => ({ rooms, connections: rooms * 10, viewers: rooms * 5, consumers: rooms * 20 });

describeWithRedis('cluster node registry and stream origin map', (redis) => {
  const opened: ClusterNode[] = [];
  let name = '';
  const connect = async (nodeId: string, ttl = { heartbeatMs: 100, nodeTtlMs: 400 }) => {
    const node = await ClusterNode.connect({ url: redis().url, name, nodeId, log, ...ttl });
    opened.push(node);
    return node;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((n) => n.close()));
    name = '';
  });

  it('registers each node with its addresses and load, and forgets one that leaves', async () => {
    name = `r${randomBytes(3).toString('hex')}`;
    const a = await connect('node-a');
    const b = await connect('node-b');
    let rooms = 1;
    await a.start({ internalUrl: 'http://10.0.0.1:8080', mediaAddress: '10.0.0.1' }, () => load(rooms));
    await b.start({ internalUrl: 'http://10.0.0.2:8080', mediaAddress: '10.0.0.2' }, () => load(2));
    expect((await b.nodes()).map((n) => [n.id, n.internalUrl, n.mediaAddress, n.load.rooms])).toEqual([
      ['node-a', 'http://10.0.0.1:8080', '10.0.0.1', 1],
      ['node-b', 'http://10.0.0.2:8080', '10.0.0.2', 2],
    ]);
    // The heartbeat refreshes the load.
    rooms = 3;
    await new Promise<void>((resolve) => {
      const stop = a.onBeat(() => {
        stop();
        resolve();
      });
    });
    expect((await b.node('node-a'))?.load).toEqual(load(3));
    await a.close();
    expect((await b.nodes()).map((n) => n.id)).toEqual(['node-b']);
    expect([...(await b.alive(['node-a', 'node-b']))]).toEqual(['node-b']);
  });

  it('takes a node that stops beating for dead once its entry expires', async () => {
    name = `r${randomBytes(3).toString('hex')}`;
    const watcher = new Redis(redis().url);
    try {
      await watcher.config('SET', 'notify-keyspace-events', 'Ex');
      const sub = watcher.duplicate();
      await sub.subscribe('__keyevent@0__:expired');
      const expired = new Promise<string>((resolve) => sub.on('message', (_channel: string, key: string) => key === `${name}:node:node-s` && resolve(key)));
      const silent = await connect('node-s');
      const other = await connect('node-o');
      await silent.start({ internalUrl: 'http://10.0.0.9:8080', mediaAddress: '10.0.0.9' }, () => load(0));
      expect(await other.redis.pttl(`${name}:node:node-s`)).toBeGreaterThan(0);
      expect((await other.alive(['node-s'])).has('node-s')).toBe(true);
      // Cut off: its connection drops without leaving the registry, as a crash would.
      silent.redis.disconnect();
      await expired;
      expect((await other.alive(['node-s'])).has('node-s')).toBe(false);
      expect((await other.nodes()).map((n) => n.id)).toEqual([]);
      sub.disconnect();
    } finally {
      watcher.disconnect();
    }
  });

  it('maps a stream to the node that receives its upload: the last claim wins, only the holder releases, a dead holder is forgotten', async () => {
    name = `r${randomBytes(3).toString('hex')}`;
    const a = await connect('node-a');
    const c = await connect('node-c');
    const originsA = new OriginMap(a, () => 1000);
    const originsC = new OriginMap(c, () => 2000);
    const camera = { id: 'p1', kind: 'video' as const, source: 'camera' as const };
    expect(await originsA.get(7)).toBeNull();
    await originsA.claim(7, [camera]);
    expect(await originsC.get(7)).toEqual({ nodeId: 'node-a', producers: [camera], since: 1000 });
    await originsC.claim(7, []);
    expect(await originsA.release(7)).toBe(false);
    expect(await originsA.forgetDead(7, 'node-a')).toBe(false);
    expect((await originsA.get(7))?.nodeId).toBe('node-c');
    expect(await originsA.forgetDead(7, 'node-c')).toBe(true);
    expect(await originsC.get(7)).toBeNull();
  });
});
