import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import { captureLogger, nextEvent, publish, view } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

interface Ctx {
  pool: WorkerPool;
  stream: StreamRouter;
}

let ctx: Ctx;

beforeEach(async () => {
  const logger = captureLogger();
  const pool = await WorkerPool.create({ numWorkers: 2, rtcPort: 0, rtcMinPort: 45000, rtcMaxPort: 45999 }, { logger });
  const stream = await StreamRouter.create(pool, 'stream-1', { maxConsumersPerRouter: 2 });
  ctx = { pool, stream };
});

afterEach(() => {
  ctx.stream.close();
  ctx.pool.close();
});

describe('StreamRouter: worker death', () => {
  it('rebuilds on a live worker after the origin worker is killed, emits mediareset and works again', async () => {
    const { camera } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera]);
    await view(ctx.stream, 'viewer-2', [camera]);
    await view(ctx.stream, 'viewer-3', [camera]);
    const killedPid = ctx.stream.placement().origin.workerPid;
    const reset = nextEvent(ctx.stream, 'mediareset');
    const replaced = nextEvent(ctx.pool, 'workerreplaced');
    const removed: unknown[] = [];
    ctx.stream.on('producerremoved', (p) => removed.push(p));

    process.kill(killedPid, 'SIGKILL');
    const [[mediaReset], [replacement]] = await Promise.all([reset, replaced]);

    expect(mediaReset.scope).toBe('all');
    expect(mediaReset.peerIds.sort()).toEqual(['streamer', 'viewer-1', 'viewer-2', 'viewer-3']);
    expect(replacement.oldPid).toBe(killedPid);
    expect(replacement.worker.pid).not.toBe(killedPid);
    expect(removed).toEqual([]);
    expect(ctx.stream.counts()).toEqual({
      routers: 1,
      transports: 0,
      producers: 0,
      consumers: 0,
      consumersPerRouter: [0],
    });
    expect(ctx.stream.placement().origin.workerPid).not.toBe(killedPid);

    const again = await publish(ctx.stream);
    const viewer = await view(ctx.stream, 'viewer-1', [again.camera, again.microphone]);
    expect(viewer.consumers).toHaveLength(2);
    expect(ctx.pool.workers).toHaveLength(2);
  });

  it("drops a fan-out router whose worker is killed and names that router's viewers in mediareset", async () => {
    const { camera, microphone } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera]);
    await view(ctx.stream, 'viewer-2', [camera]);
    await view(ctx.stream, 'viewer-3', [camera, microphone]);
    const fanoutPid = ctx.stream.placement().fanout[0]!.workerPid;
    const reset = nextEvent(ctx.stream, 'mediareset');
    const replaced = nextEvent(ctx.pool, 'workerreplaced');

    process.kill(fanoutPid, 'SIGKILL');
    const [[mediaReset]] = await Promise.all([reset, replaced]);

    expect(mediaReset).toEqual({ reason: 'worker_died', scope: 'viewers', peerIds: ['viewer-3'] });
    expect(ctx.stream.counts()).toEqual({
      routers: 1,
      transports: 3,
      producers: 2,
      consumers: 2,
      consumersPerRouter: [2],
    });

    const rejoined = await view(ctx.stream, 'viewer-3', [camera, microphone]);
    expect(rejoined.consumers).toHaveLength(2);
    expect(ctx.stream.placement().fanout[0]!.workerPid).not.toBe(fanoutPid);
  });
});
