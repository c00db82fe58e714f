import type { types as ms } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import type { RtpCapabilities } from './StreamRouterTypes.ts';
import {
  cameraRtpParameters,
  captureLogger,
  clientDtlsParameters,
  expectSfuError,
  nextEvent,
  publish,
  screenRtpParameters,
  view,
} from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

// Fan-out and placement: RouterSet.test.ts. Worker death: OriginRebuild.test.ts.

interface Ctx {
  pool: WorkerPool;
  stream: StreamRouter;
}

let ctx: Ctx;

beforeEach(async () => {
  const logger = captureLogger();
  const pool = await WorkerPool.create({ numWorkers: 2, rtcPort: 0, rtcMinPort: 42000, rtcMaxPort: 42999 }, { logger });
  const stream = await StreamRouter.create(pool, 'stream-1', { maxConsumersPerRouter: 2 });
  ctx = { pool, stream };
});

afterEach(() => {
  vi.restoreAllMocks();
  ctx.stream.close();
  ctx.pool.close();
});

describe('StreamRouter: publishing', () => {
  it('gives the streamer a send transport and accepts VP8 simulcast + Opus without ICE being connected', async () => {
    const transport = await ctx.stream.createTransport('streamer', 'send');
    expect(transport.iceCandidates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(transport.iceCandidates.map((c) => c.protocol))).toEqual(new Set(['udp', 'tcp']));
    expect(transport.iceCandidates.every((c) => c.ip === '127.0.0.1')).toBe(true);
    expect(transport.dtlsParameters.fingerprints.length).toBeGreaterThan(0);

    const added = nextEvent(ctx.stream, 'produceradded');
    const camera = await ctx.stream.produce('streamer', transport.id, {
      kind: 'video',
      rtpParameters: cameraRtpParameters(),
      source: 'camera',
    });

    expect((await added)[0]).toEqual({ id: camera, kind: 'video', source: 'camera', peerId: 'streamer', encodings: 3 });
    expect(ctx.stream.getProducers()).toEqual([{ id: camera, kind: 'video', source: 'camera', peerId: 'streamer', encodings: 3 }]);
    expect(ctx.stream.counts()).toMatchObject({ routers: 1, transports: 1, producers: 1, consumers: 0 });
  });

  it('connects a transport once; a second connect is not_allowed', async () => {
    const transport = await ctx.stream.createTransport('streamer', 'send');
    await ctx.stream.connectTransport('streamer', transport.id, clientDtlsParameters());
    await expectSfuError(ctx.stream.connectTransport('streamer', transport.id, clientDtlsParameters()), 'not_allowed');
  });

  it('rejects malformed DTLS and RTP parameters with invalid_parameters', async () => {
    const transport = await ctx.stream.createTransport('streamer', 'send');
    await expectSfuError(
      ctx.stream.connectTransport('streamer', transport.id, {
        role: 'client',
        // A client's bad input: not a FingerprintAlgorithm.
        fingerprints: [{ algorithm: 'sha-999' as ms.FingerprintAlgorithm, value: 'AB' }],
      }),
      'invalid_parameters',
    );
    await expectSfuError(
      ctx.stream.connectTransport('streamer', transport.id, { fingerprints: [] }),
      'invalid_parameters',
    );
    // The failed attempts did not use up the one allowed connect.
    await ctx.stream.connectTransport('streamer', transport.id, clientDtlsParameters());

    const noPayloadType = cameraRtpParameters();
    delete (noPayloadType.codecs[0] as { payloadType?: number }).payloadType;
    await expectSfuError(
      ctx.stream.produce('streamer', transport.id, { kind: 'video', rtpParameters: noPayloadType, source: 'camera' }),
      'invalid_parameters',
    );
    const h265 = { ...screenRtpParameters(), codecs: [{ mimeType: 'video/H265', payloadType: 100, clockRate: 90000 }] };
    await expectSfuError(
      ctx.stream.produce('streamer', transport.id, { kind: 'video', rtpParameters: h265, source: 'screen' }),
      'invalid_parameters',
    );
    await expectSfuError(
      ctx.stream.produce('streamer', transport.id, {
        kind: 'audio',
        rtpParameters: cameraRtpParameters(),
        source: 'camera',
      }),
      'invalid_parameters',
    );
    expect(ctx.stream.counts().producers).toBe(0);
  });

  it('allows one producer per source and lets the streamer stop the screen share', async () => {
    const { transportId } = await publish(ctx.stream);
    await expectSfuError(
      ctx.stream.produce('streamer', transportId, {
        kind: 'video',
        rtpParameters: cameraRtpParameters(),
        source: 'camera',
      }),
      'not_allowed',
    );
    const screen = await ctx.stream.produce('streamer', transportId, {
      kind: 'video',
      rtpParameters: screenRtpParameters(),
      source: 'screen',
    });
    const removed = nextEvent(ctx.stream, 'producerremoved');

    await expectSfuError(async () => ctx.stream.closeProducer('viewer-1', screen), 'producer_not_found');
    ctx.stream.closeProducer('streamer', screen);

    expect((await removed)[0]).toMatchObject({ id: screen, source: 'screen', peerId: 'streamer' });
    expect(ctx.stream.getProducers().map((p) => p.source).sort()).toEqual(['camera', 'microphone']);
  });

  it('refuses to produce on a recv transport', async () => {
    const transport = await ctx.stream.createTransport('viewer-1', 'recv');
    await expectSfuError(
      ctx.stream.produce('viewer-1', transport.id, {
        kind: 'video',
        rtpParameters: cameraRtpParameters(),
        source: 'camera',
      }),
      'not_allowed',
    );
  });
});

describe('StreamRouter: viewing', () => {
  it('creates paused consumers: simulcast for the camera, simple for the microphone', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    const { consumers } = await view(ctx.stream, 'viewer-1', [camera, microphone]);
    const [video, audio] = consumers;

    expect(video).toMatchObject({ producerId: camera, kind: 'video', type: 'simulcast', source: 'camera' });
    expect(video?.producerPaused).toBe(false);
    expect(audio).toMatchObject({ producerId: microphone, kind: 'audio', type: 'simple', source: 'microphone' });
    expect(video?.rtpParameters.encodings).toHaveLength(1);
    expect(ctx.stream.counts()).toMatchObject({ transports: 2, producers: 2, consumers: 2, consumersPerRouter: [2] });
  });

  it('asks for one keyframe when a video consumer resumes, none for audio', async () => {
    // mediasoup's classes are type-only exports (3.13+): spy on each consumer as the worker creates it.
    const requestKeyFrame: { id: string; spy: MockInstance<ms.Consumer['requestKeyFrame']> }[] = [];
    for (const worker of ctx.pool.workers) {
      worker.observer.on('newrouter', (router) =>
        router.observer.on('newtransport', (transport) =>
          transport.observer.on('newconsumer', (consumer) =>
            requestKeyFrame.push({ id: consumer.id, spy: vi.spyOn(consumer, 'requestKeyFrame') }),
          ),
        ),
      );
    }
    const stream = await StreamRouter.create(ctx.pool, 'stream-keyframes');
    try {
      const { camera, microphone } = await publish(stream);
      const { consumers } = await view(stream, 'viewer-1', [camera, microphone]);

      await stream.resumeConsumer('viewer-1', consumers[0]!.id);
      await stream.resumeConsumer('viewer-1', consumers[1]!.id);

      expect(requestKeyFrame.map(({ id, spy }) => [id, spy.mock.calls.length])).toEqual([
        [consumers[0]!.id, 1],
        [consumers[1]!.id, 0],
      ]);
    } finally {
      stream.close();
    }
  });

  it('pins simulcast layers and returns to the top layer on auto; audio consumers ignore it', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    const { consumers } = await view(ctx.stream, 'viewer-1', [camera, microphone]);
    const [video, audio] = consumers;

    expect(await ctx.stream.setPreferredLayer('viewer-1', video!.id, 'low')).toEqual({
      spatialLayer: 0,
      temporalLayer: 2,
    });
    expect(await ctx.stream.setPreferredLayer('viewer-1', video!.id, 'medium')).toEqual({
      spatialLayer: 1,
      temporalLayer: 2,
    });
    expect(await ctx.stream.setPreferredLayer('viewer-1', video!.id, 'auto')).toEqual({
      spatialLayer: 2,
      temporalLayer: 2,
    });
    expect(await ctx.stream.setPreferredLayer('viewer-1', audio!.id, 'low')).toBeUndefined();
  });

  it('refuses capabilities that cannot receive the producer with cannot_consume', async () => {
    const { camera } = await publish(ctx.stream);
    const transport = await ctx.stream.createTransport('viewer-1', 'recv');
    const audioOnly: RtpCapabilities = {
      codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 }],
      headerExtensions: [],
    };
    await expectSfuError(ctx.stream.consume('viewer-1', transport.id, camera, audioOnly), 'cannot_consume');
    await expectSfuError(
      ctx.stream.consume('viewer-1', transport.id, 'no-such-producer', ctx.stream.rtpCapabilities),
      'producer_not_found',
    );
  });

  it("a peer cannot use another peer's transport or consumer", async () => {
    const { camera, transportId: sendId } = await publish(ctx.stream);
    const b = await view(ctx.stream, 'viewer-b', [camera]);
    const consumerId = b.consumers[0]!.id;

    await expectSfuError(ctx.stream.consume('viewer-a', b.transportId, camera, ctx.stream.rtpCapabilities), 'transport_not_found');
    await expectSfuError(ctx.stream.connectTransport('viewer-a', b.transportId, clientDtlsParameters()), 'transport_not_found');
    await expectSfuError(ctx.stream.restartIce('viewer-a', sendId), 'transport_not_found');
    await expectSfuError(ctx.stream.resumeConsumer('viewer-a', consumerId), 'consumer_not_found');
    await expectSfuError(ctx.stream.setPreferredLayer('viewer-a', consumerId, 'low'), 'consumer_not_found');
    ctx.stream.closePeer('viewer-a');

    expect(ctx.stream.counts()).toMatchObject({ transports: 2, consumers: 1 });
  });

  it('restartIce returns fresh ICE credentials', async () => {
    const transport = await ctx.stream.createTransport('viewer-1', 'recv');
    const restarted = await ctx.stream.restartIce('viewer-1', transport.id);
    expect(restarted.iceParameters.usernameFragment).not.toBe(transport.iceParameters.usernameFragment);
    expect(restarted.iceParameters.password).not.toBe(transport.iceParameters.password);
    expect(restarted.iceCandidates).toEqual(transport.iceCandidates);
  });

  it('tells viewers their consumer closed when the producer closes', async () => {
    const { transportId } = await publish(ctx.stream);
    const screen = await ctx.stream.produce('streamer', transportId, {
      kind: 'video',
      rtpParameters: screenRtpParameters(),
      source: 'screen',
    });
    const { consumers } = await view(ctx.stream, 'viewer-1', [screen]);
    const closed = nextEvent(ctx.stream, 'consumerclosed');

    ctx.stream.closeProducer('streamer', screen);

    expect((await closed)[0]).toEqual({ peerId: 'viewer-1', consumerId: consumers[0]!.id, reason: 'producerclose' });
    expect(ctx.stream.counts().consumers).toBe(0);
  });
});

describe('StreamRouter: lifecycle and leaks', () => {
  it('closePeer releases every transport and consumer of that peer, and is idempotent', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera, microphone]);
    await view(ctx.stream, 'viewer-2', [camera, microphone]);
    await view(ctx.stream, 'viewer-3', [camera, microphone]);

    for (const viewer of ['viewer-1', 'viewer-2', 'viewer-3']) ctx.stream.closePeer(viewer);
    ctx.stream.closePeer('viewer-1');

    expect(ctx.stream.counts()).toMatchObject({ transports: 1, producers: 2, consumers: 0 });

    const removed: string[] = [];
    ctx.stream.on('producerremoved', (p) => removed.push(p.source));
    ctx.stream.closePeer('streamer');
    expect(removed.sort()).toEqual(['camera', 'microphone']);
    expect(ctx.stream.counts()).toMatchObject({ transports: 0, producers: 0, consumers: 0 });
  });

  it('close is idempotent, emits close once, leaves the workers empty and refuses later calls', async () => {
    const { camera } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera]);
    await view(ctx.stream, 'viewer-2', [camera]);
    await view(ctx.stream, 'viewer-3', [camera]);
    let closes = 0;
    ctx.stream.on('close', () => closes++);

    ctx.stream.close();
    ctx.stream.close();

    expect(closes).toBe(1);
    expect(ctx.stream.counts()).toMatchObject({ routers: 0, transports: 0, producers: 0, consumers: 0 });
    for (const worker of ctx.pool.workers) expect(ctx.pool.load(worker)).toEqual({ routers: 0, consumers: 0 });
    await expectSfuError(ctx.stream.createTransport('viewer-4', 'recv'), 'stream_closed');
  });

  it('close announces nothing but close: producers and consumers are told their router closed', async () => {
    const { camera, microphone } = await publish(ctx.stream);
    await view(ctx.stream, 'viewer-1', [camera, microphone]);
    await view(ctx.stream, 'viewer-2', [camera, microphone]);
    const announced: string[] = [];
    ctx.stream.on('producerremoved', () => announced.push('producerremoved'));
    ctx.stream.on('consumerclosed', () => announced.push('consumerclosed'));
    ctx.stream.on('mediareset', () => announced.push('mediareset'));
    ctx.stream.on('close', () => announced.push('close'));

    ctx.stream.close();

    expect(announced).toEqual(['close']);
    expect(ctx.stream.getProducers()).toEqual([]);
  });
});
