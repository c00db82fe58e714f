import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { freePort } from '../testing/owned-process.ts';
import { describeWithRedis } from '../testing/redis.ts';
import { describeRoomBus } from './bus-contract.ts';
import type { RoomBus, RoomEnvelope, RoomEvent } from './bus.ts';
import { RedisRoomBus, type RoomBusError, type RoomBusErrorCode } from './redis-bus.ts';

const settle = (bus: RoomBus) => {
  if (!(bus instanceof RedisRoomBus)) throw new Error('not a RedisRoomBus');
  return bus.flush();
};

const comment = (n: number): RoomEvent => ({
  kind: 'message',
  audience: { to: 'chat' },
  message: { type: 'comment', comment: { id: n, streamId: 1, author: { id: 2, username: 'ana', role: 'viewer' }, content: `c${n}`, highlighted: false, createdAt: 1000 + n } },
});

/** Resolves with the first reported error of this code. */
function nextError(errors: { on: (e: RoomBusError) => void }, code: RoomBusErrorCode): Promise<RoomBusError> {
  return new Promise((resolve) => {
    const previous = errors.on;
    errors.on = (e) => {
      previous(e);
      if (e.code === code) resolve(e);
    };
  });
}

describeWithRedis('RedisRoomBus', (redis) => {
  let namespaces = 0;
  // Each test its own namespace: sequences start at 1, nothing leaks between tests.
  const fresh = () => `t${++namespaces}`;

  describeRoomBus(
    'redis',
    (onHandlerError) => RedisRoomBus.connect({ url: redis().url, namespace: fresh(), onHandlerError }),
    settle,
    (bus, onHandlerError) => RedisRoomBus.connect({ url: redis().url, namespace: (bus as RedisRoomBus).namespace, onHandlerError }),
  );

  const open = async (opts: { namespace?: string } = {}) => {
    const errors: RoomBusError[] = [];
    const health: boolean[] = [];
    const healthWaiters: Array<{ healthy: boolean; resolve: () => void }> = [];
    const reporter = { on: (e: RoomBusError) => void errors.push(e) };
    let resumes = 0;
    let onResume = () => {};
    /** Resolves at the next resume (the subscriber connection back, every channel subscribed again). */
    const nextResume = () => new Promise<number>((resolve) => (onResume = () => resolve(resumes)));
    const bus = await RedisRoomBus.connect({
      url: redis().url,
      namespace: opts.namespace ?? fresh(),
      onHandlerError: (err) => {
        throw err;
      },
      onError: (e) => reporter.on(e),
      onHealthChange: (h) => {
        health.push(h);
        for (const w of healthWaiters) if (w.healthy === h) w.resolve();
      },
      onResumed: () => {
        resumes++;
        onResume();
      },
    });
    /** Resolves when the bus reports this health (at once if it has it now). */
    const untilHealth = (healthy: boolean) => new Promise<void>((resolve) => (bus.healthy === healthy ? resolve() : healthWaiters.push({ healthy, resolve })));
    return { bus, errors, health, reporter, untilHealth, nextResume };
  };

  it('puts a plain JSON envelope on one channel per stream', async () => {
    const { bus } = await open();
    const raw = new Redis(redis().url);
    try {
      const seen = new Promise<[string, string]>((resolve) => raw.once('message', (channel: string, text: string) => resolve([channel, text])));
      await raw.subscribe(`${bus.namespace}:room:5`);
      bus.publish(5, { kind: 'stream_live', startedAt: 42 });
      const [channel, text] = await seen;
      expect(channel).toBe(`${bus.namespace}:room:5`);
      expect(JSON.parse(text)).toEqual({ streamId: 5, seq: 1, event: { kind: 'stream_live', startedAt: 42 } });
    } finally {
      raw.disconnect();
      bus.close();
    }
  });

  it('subscribes a channel once per node, and unsubscribes it with the last subscription', async () => {
    const { bus } = await open();
    const admin = new Redis(redis().url);
    const channel = `${bus.namespace}:room:6`;
    const subscribers = async () => (await admin.pubsub('NUMSUB', channel))[1];
    try {
      const a = bus.subscribe(6, () => {});
      const b = bus.subscribe(6, () => {});
      await bus.flush();
      expect(await subscribers()).toBe(1);
      a.close();
      a.close();
      await bus.flush();
      expect(await subscribers()).toBe(1);
      b.close();
      await bus.flush();
      expect(await subscribers()).toBe(0);
    } finally {
      admin.disconnect();
      bus.close();
    }
  });

  it('reports a gap in the sequence and a message that is not an envelope, delivering what it can', async () => {
    const { bus, errors } = await open();
    const raw = new Redis(redis().url);
    try {
      const got: RoomEnvelope[] = [];
      bus.subscribe(7, (e) => got.push(e));
      bus.publish(7, comment(1));
      await bus.flush();
      // Another writer on the channel: seq 2..4 never published, then garbage.
      await raw.publish(`${bus.namespace}:room:7`, JSON.stringify({ streamId: 7, seq: 5, event: comment(5) }));
      await raw.publish(`${bus.namespace}:room:7`, 'not json');
      await bus.flush();
      expect(got.map((e) => e.seq)).toEqual([1, 5]);
      expect(errors.map((e) => [e.code, e.details])).toEqual([
        ['bus_gap', { streamId: 7, expectedSeq: 2, seq: 5 }],
        ['bus_bad_message', { streamId: 7 }],
      ]);
    } finally {
      raw.disconnect();
      bus.close();
    }
  });

  it('still sends what was published before close, and calls no handler after it', async () => {
    const { bus } = await open();
    const { bus: peer } = await open({ namespace: bus.namespace });
    try {
      const mine: number[] = [];
      const theirs: number[] = [];
      bus.subscribe(8, (e) => mine.push(e.seq));
      peer.subscribe(8, (e) => theirs.push(e.seq));
      await peer.flush();
      for (let i = 1; i <= 3; i++) bus.publish(8, comment(i));
      bus.close();
      await peer.flush();
      expect(theirs).toEqual([1, 2, 3]);
      expect(mine).toEqual([]);
    } finally {
      peer.close();
    }
  });

  it('refuses to start against an unreachable Redis, without printing its password', async () => {
    const port = await freePort();
    const failed = await RedisRoomBus.connect({ url: `redis://user:s3cret@127.0.0.1:${port}`, onHandlerError: () => {} }).then(
      () => null,
      (err: RoomBusError) => err,
    );
    expect(failed?.code).toBe('bus_unavailable');
    expect(failed?.message).toContain(`127.0.0.1:${port} is unreachable`);
    expect(failed?.message).not.toContain('s3cret');
  });

  // Last: it restarts the file's Redis.
  it('says when Redis is down, reports what it could not publish, and resumes its subscriptions when Redis is back, telling its owner', async () => {
    const { bus, errors, health, reporter, untilHealth, nextResume } = await open();
    try {
      expect(bus.healthy).toBe(true);
      const got: RoomEnvelope[] = [];
      bus.subscribe(9, (e) => got.push(e));
      const site: unknown[] = [];
      bus.subscribeSite((e) => site.push(e));
      bus.publish(9, comment(1));
      bus.publish(9, comment(2));
      await bus.flush();

      const publishFailed = nextError(reporter, 'bus_publish_failed');
      await redis().halt();
      bus.publish(9, comment(3));
      expect((await publishFailed).details).toEqual({ streamId: 9 });
      expect(bus.healthy).toBe(false);
      expect(health).toEqual([true, false]);
      expect(errors.some((e) => e.code === 'bus_unavailable')).toBe(true);

      const reset = nextError(reporter, 'bus_sequence_reset');
      const resumed = nextResume();
      await redis().resume();
      await untilHealth(true);
      // Once, after the first connection was not a resume, and with the site channel subscribed again.
      expect(await resumed).toBe(1);
      bus.publishSite({ kind: 'signed_out', userId: 3, reason: 'signed out' });
      // The subscription is restored before anything this node publishes goes out.
      bus.publish(9, comment(4));
      await bus.flush();
      // Redis came back empty: the sequence starts again, and the subscriber says so.
      expect((await reset).details).toEqual({ streamId: 9, expectedSeq: 3, seq: 1 });
      expect(got.map((e) => e.seq)).toEqual([1, 2, 1]);
      expect(got.map((e) => (e.event.kind === 'message' && e.event.message.type === 'comment' ? e.event.message.comment.id : 0))).toEqual([1, 2, 4]);
      expect(health).toEqual([true, false, true]);
      expect(site).toEqual([{ kind: 'signed_out', userId: 3, reason: 'signed out' }]);
    } finally {
      bus.close();
    }
  });
});
