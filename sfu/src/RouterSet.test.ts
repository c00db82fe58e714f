import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import { captureLogger, publish, screenRtpParameters, view } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

interface Ctx {
  pool: WorkerPool;
  stream: StreamRouter;
  logger: ReturnType<typeof captureLogger>;
}

let ctx: Ctx;

beforeEach(async () => {
  const logger = captureLogger();
  const pool = await WorkerPool.create({ numWorkers: 2, rtcPort: 0, rtcMinPort: 44000, rtcMaxPort: 44999 }, { logger });
  const stream = await StreamRouter.create(pool, 'stream-1', { maxConsumersPerRouter: 2 });
  ctx = { pool, stream, logger };
});

afterEach(() => {
  ctx.stream.close();
  ctx.pool.close();
});

describe('StreamRouter: fan-out', () => {
  it('serves the third viewer from a router on the other worker, with the producers piped', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera]);
    await view(ctx.stream, 'viewer-2', [camera]);
    const third = await view(ctx.stream, 'viewer-3', [camera, microphone]);

    const placement = ctx.stream.placement();
    expect(placement.fanout).toHaveLength(1);
    expect(placement.fanout[0]!.workerPid).not.toBe(placement.origin.workerPid);
    expect(third.consumers.map((c) => c.producerId)).toEqual([camera, microphone]);
    expect(third.consumers[0]!.type).toBe('simulcast');
    // The streamer still uploads once: one send transport, one set of producers.
    expect(ctx.stream.counts()).toEqual({
      routers: 2,
      transports: 4,
      producers: 2,
      consumers: 4,
      consumersPerRouter: [2, 2],
    });
  });

  it('pipes producers added later to the existing fan-out routers', async () => {
    const { camera, transportId } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera]);
    await view(ctx.stream, 'viewer-2', [camera]);
    const third = await view(ctx.stream, 'viewer-3', []);

    const screen = await ctx.stream.produce('streamer', transportId, {
      kind: 'video',
      rtpParameters: screenRtpParameters(),
      source: 'screen',
    });
    const offer = await ctx.stream.consume('viewer-3', third.transportId, screen, ctx.stream.rtpCapabilities);

    expect(offer).toMatchObject({ producerId: screen, source: 'screen', type: 'simple' });
    expect(ctx.stream.counts().consumersPerRouter).toEqual([2, 1]);
  });

  it('spreads a burst of joins: a recv transport that has not consumed yet counts once per producer', async () => {
    await publish(ctx.stream);
    await Promise.all(['v1', 'v2'].map((peer) => ctx.stream.createTransport(peer, 'recv')));
    // Camera + mic: either viewer alone fills a 2-consumer router.
    expect(ctx.stream.counts().routers).toBe(2);
    expect(ctx.stream.placement().fanout).toHaveLength(1);
  });
});

describe('StreamRouter: placement under load', () => {
  it('200 viewers joining at once leave no router above maxConsumersPerRouter (250)', async () => {
    const stream = await StreamRouter.create(ctx.pool, 'storm', { maxConsumersPerRouter: 250 });
    try {
      const { camera, microphone } = await publish(stream);
      const viewers = Array.from({ length: 200 }, (_, i) => `viewer-${i}`);

      await Promise.all(viewers.map((peerId) => view(stream, peerId, [camera, microphone])));

      const counts = stream.counts();
      expect(counts.consumers).toBe(400);
      expect(counts.consumersPerRouter.every((consumers) => consumers <= 250)).toBe(true);
      expect(counts.consumersPerRouter).toEqual([250, 150]);
    } finally {
      stream.close();
    }
  });

  it('keeps one router per worker: once every worker holds a full one, viewers go to the least loaded', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    for (const peerId of ['v1', 'v2', 'v3', 'v4']) await view(ctx.stream, peerId, [camera, microphone]);

    const placement = ctx.stream.placement();
    expect(placement.fanout).toHaveLength(1);
    expect(placement.fanout[0]!.workerPid).not.toBe(placement.origin.workerPid);
    expect(ctx.stream.counts().consumersPerRouter).toEqual([4, 4]);
    const overflow = ctx.logger.lines.filter((line) => line.level === 'warn' && /over the limit/.test(line.message ?? ''));
    expect(overflow).toHaveLength(1);
  });
});
