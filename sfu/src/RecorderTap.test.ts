import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import { captureLogger, expectSfuError, ManualTimer, nextEvent, publish, screenRtpParameters } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

// Real mediasoup workers; the tap's PlainTransports point at ports nobody listens on (no packets are needed to prove the shape).

let pool: WorkerPool;
let stream: StreamRouter;

const target = { ip: '127.0.0.1', video: { rtpPort: 45000, rtcpPort: 45001 }, audio: { rtpPort: 45002, rtcpPort: 45003 } };

beforeEach(async () => {
  pool = await WorkerPool.create({ numWorkers: 1, rtcPort: 0, rtcMinPort: 44000, rtcMaxPort: 44999 }, { logger: captureLogger() });
  stream = await StreamRouter.create(pool, 'recorded', { maxConsumersPerRouter: 10, timer: new ManualTimer() });
});

afterEach(() => {
  stream.close();
  pool.close();
});

describe('RecorderTap', () => {
  it('refuses a stream without video (producer_not_found)', async () => {
    await expectSfuError(stream.createRecorderTap(target), 'producer_not_found');
  });

  it('takes the camera and the microphone, with codecs a plain RTP recorder can read (no RTX, no feedback)', async () => {
    const { camera, microphone } = await publish(stream);
    const tap = await stream.createRecorderTap(target);
    expect(tap.tracks.map((t) => [t.kind, t.producerId])).toEqual([
      ['video', camera],
      ['audio', microphone],
    ]);
    const video = tap.tracks[0]!.rtpParameters;
    expect(video.codecs.map((c) => c.mimeType)).toEqual(['video/VP8']);
    expect(video.codecs[0]!.rtcpFeedback ?? []).toEqual([]);
    // One stream to the recorder, whatever the simulcast upload had (the consumer picks the top layer).
    expect(video.encodings).toHaveLength(1);
    expect(tap.tracks[1]!.rtpParameters.codecs[0]!.mimeType).toBe('audio/opus');
    tap.close();
  });

  it('without an audio target, or without a microphone, records video only; the screen when there is no camera', async () => {
    const t = await stream.createTransport('streamer', 'send');
    const screen = await stream.produce('streamer', t.id, { kind: 'video', rtpParameters: screenRtpParameters(), source: 'screen' });
    const tap = await stream.createRecorderTap({ ip: target.ip, video: target.video });
    expect(tap.tracks.map((x) => [x.kind, x.producerId])).toEqual([['video', screen]]);
    tap.close();
  });

  it('closes once with producerclose when the recorded producer goes; close() after is a no-op', async () => {
    const { camera } = await publish(stream);
    const tap = await stream.createRecorderTap(target);
    const closed: string[] = [];
    tap.on('close', (reason) => closed.push(reason));
    const once = nextEvent(tap, 'close');
    stream.closeProducer('streamer', camera);
    await once;
    expect(closed).toEqual(['producerclose']);
    expect(tap.closed).toBe(true);
    tap.close();
    expect(closed).toEqual(['producerclose']);
    await expectSfuError(tap.resume(), 'stream_closed');
    expect(await tap.bytesSent()).toBe(0);
  });

  it('closes with routerclose when the stream closes, and resumes (then asks a keyframe) while open', async () => {
    await publish(stream);
    const tap = await stream.createRecorderTap(target);
    await tap.resume();
    expect(await tap.bytesSent()).toBe(0);
    const closed = nextEvent(tap, 'close');
    stream.close();
    expect((await closed)[0]).toBe('routerclose');
  });

  it('closes with routerclose when the origin worker dies', async () => {
    await publish(stream);
    const tap = await stream.createRecorderTap(target);
    const closed = nextEvent(tap, 'close');
    process.kill(stream.placement().origin.workerPid, 'SIGKILL');
    expect((await closed)[0]).toBe('routerclose');
  });
});
