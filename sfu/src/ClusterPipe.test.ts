import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OriginLink, RemoteOriginSpec } from './ClusterPipeTypes.ts';
import { StreamRouter } from './StreamRouter.ts';
import { captureLogger, ManualTimer, nextEvent, publish, view } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

// Two hosts in one process: each its own worker pool (its own worker process
// and ports), linked the way the api links nodes, minus the HTTP in between.

const LINGER_MS = 5000;

interface Host {
  pool: WorkerPool;
  stream: StreamRouter;
}

interface Ctx {
  origin: Host;
  edge: Host;
  timer: ManualTimer;
  link: OriginLink & { opened: number; closed: string[] };
}

let ctx: Ctx;

async function host(rtcMinPort: number, timer: ManualTimer): Promise<Host> {
  const pool = await WorkerPool.create({ numWorkers: 1, rtcMinPort, rtcMaxPort: rtcMinPort + 199 }, { logger: captureLogger() });
  return { pool, stream: await StreamRouter.create(pool, 'stream-7', { timer }) };
}

/** The origin's side of the link, as the api's internal routes do it. */
function linkTo(origin: StreamRouter): Ctx['link'] {
  const link = {
    opened: 0,
    closed: [] as string[],
    async open(edge: Parameters<OriginLink['open']>[0]) {
      link.opened++;
      const pipe = await origin.openOriginPipe({ listenIp: '127.0.0.1' });
      await pipe.connect(edge);
      return { pipeId: pipe.id, origin: pipe.endpoint };
    },
    async consume(pipeId: string, producerId: string) {
      const pipe = origin.originPipe(pipeId);
      if (!pipe) throw new Error(`no pipe ${pipeId}`);
      return pipe.consume(producerId);
    },
    close(pipeId: string) {
      link.closed.push(pipeId);
      origin.originPipe(pipeId)?.close();
    },
  };
  return link;
}

function spec(originId: string, producers: RemoteOriginSpec['producers']): RemoteOriginSpec {
  return { originId, producers, link: ctx.link, pipe: { listenIp: '127.0.0.1' }, lingerMs: LINGER_MS, keyFrameRequestDelayMs: 1000 };
}

beforeEach(async () => {
  const timer = new ManualTimer();
  const [origin, edge] = await Promise.all([host(43000, timer), host(43200, timer)]);
  ctx = { origin, edge, timer, link: linkTo(origin.stream) };
});

afterEach(() => {
  for (const h of [ctx.origin, ctx.edge]) {
    h.stream.close();
    h.pool.close();
  }
});

describe('media between hosts (cluster mode)', () => {
  it('serves edge viewers from one pipe opened on the first consume and closed a linger after the last viewer left', async () => {
    const { camera, microphone } = await publish(ctx.origin.stream);
    const producers = ctx.origin.stream.getProducers().map(({ id, kind, source }) => ({ id, kind, source }));
    ctx.edge.stream.setRemoteOrigin(spec('node-a', producers));
    expect(ctx.edge.stream.getProducers().map((p) => p.id).sort()).toEqual([camera, microphone].sort());
    expect(ctx.edge.stream.pipeCount()).toBe(0);

    const opened = nextEvent(ctx.edge.stream, 'remotepipe');
    const first = await view(ctx.edge.stream, 'viewer-1', [camera, microphone]);
    expect(await opened).toEqual(['open']);
    expect(first.consumers.map((c) => [c.producerId, c.kind])).toEqual([
      [camera, 'video'],
      [microphone, 'audio'],
    ]);
    // Simulcast survives the pipe: the edge's viewer gets a simulcast consumer it can pick layers on.
    expect(first.consumers[0]!.type).toBe('simulcast');
    const second = await view(ctx.edge.stream, 'viewer-2', [camera]);
    expect(second.consumers).toHaveLength(1);
    expect(ctx.link.opened).toBe(1);
    expect(ctx.edge.stream.counts().consumers).toBe(3);
    expect(ctx.edge.stream.pipeCount()).toBe(1);
    expect(ctx.origin.stream.counts().consumers).toBe(0);
    expect(ctx.origin.stream.pipeCount()).toBe(1);

    ctx.edge.stream.closePeer('viewer-1');
    ctx.edge.stream.closePeer('viewer-2');
    ctx.timer.advance(LINGER_MS - 1);
    expect(ctx.edge.stream.pipeCount()).toBe(1);
    const closed = nextEvent(ctx.edge.stream, 'remotepipe');
    ctx.timer.advance(1);
    expect(await closed).toEqual(['close']);
    expect(ctx.link.closed).toHaveLength(1);
    expect(ctx.edge.stream.pipeCount()).toBe(0);
    expect(ctx.origin.stream.pipeCount()).toBe(0);

    // The next viewer opens a new pipe.
    await view(ctx.edge.stream, 'viewer-3', [camera]);
    expect(ctx.link.opened).toBe(2);
  });

  it('keeps the pipe for a viewer who comes back within the linger', async () => {
    const { camera } = await publish(ctx.origin.stream);
    ctx.edge.stream.setRemoteOrigin(spec('node-a', ctx.origin.stream.getProducers()));
    await view(ctx.edge.stream, 'viewer-1', [camera]);
    ctx.edge.stream.closePeer('viewer-1');
    ctx.timer.advance(LINGER_MS / 2);
    await view(ctx.edge.stream, 'viewer-2', [camera]);
    ctx.timer.advance(LINGER_MS * 2);
    expect(ctx.edge.stream.pipeCount()).toBe(1);
    expect(ctx.link.opened).toBe(1);
  });

  it('closes the consumers of a producer the origin stopped, and every piped one when the origin changes', async () => {
    const { camera, microphone } = await publish(ctx.origin.stream);
    const all = ctx.origin.stream.getProducers();
    ctx.edge.stream.setRemoteOrigin(spec('node-a', all));
    const viewer = await view(ctx.edge.stream, 'viewer-1', [camera, microphone]);

    const cameraClosed = nextEvent(ctx.edge.stream, 'consumerclosed');
    ctx.edge.stream.setRemoteOrigin(spec('node-a', all.filter((p) => p.id !== camera)));
    expect((await cameraClosed)[0]).toMatchObject({ peerId: 'viewer-1', consumerId: viewer.consumers[0]!.id });
    expect(ctx.edge.stream.getProducers().map((p) => p.id)).toEqual([microphone]);

    const micClosed = nextEvent(ctx.edge.stream, 'consumerclosed');
    ctx.edge.stream.setRemoteOrigin(spec('node-c', []));
    expect((await micClosed)[0]).toMatchObject({ peerId: 'viewer-1', consumerId: viewer.consumers[1]!.id });
    expect(ctx.edge.stream.pipeCount()).toBe(0);
    expect(ctx.link.closed).toHaveLength(1);
  });

  it('refuses a producer the origin does not list, and one it lists but cannot pipe, with stable codes', async () => {
    const { camera } = await publish(ctx.origin.stream);
    ctx.edge.stream.setRemoteOrigin(spec('node-a', [...ctx.origin.stream.getProducers(), { id: 'gone', kind: 'video', source: 'screen' }]));
    const transport = await ctx.edge.stream.createTransport('viewer-1', 'recv');
    await expect(ctx.edge.stream.consume('viewer-1', transport.id, 'unknown', ctx.edge.stream.rtpCapabilities)).rejects.toMatchObject({ code: 'producer_not_found' });
    await expect(ctx.edge.stream.consume('viewer-1', transport.id, 'gone', ctx.edge.stream.rtpCapabilities)).rejects.toMatchObject({ code: 'cannot_consume' });
    // The pipe that refused one producer still serves the others.
    const offer = await ctx.edge.stream.consume('viewer-1', transport.id, camera, ctx.edge.stream.rtpCapabilities);
    expect(offer.producerId).toBe(camera);
  });
});
