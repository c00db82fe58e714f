import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import { cameraRtpParameters, captureLogger, expectSfuError } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

// Peers without a socket (WHIP publishers, WHEP viewers) are watched through
// their transport's state and byte counters, and a WHIP publisher's simulcast
// encodings are told apart by what each RTP stream carries.

let pool: WorkerPool;
let stream: StreamRouter;

beforeEach(async () => {
  pool = await WorkerPool.create({ numWorkers: 1, rtcPort: 0, rtcMinPort: 43000, rtcMaxPort: 43099 }, { logger: captureLogger() });
  stream = await StreamRouter.create(pool, 'health-1');
});

afterEach(() => {
  stream.close();
  pool.close();
});

describe('StreamRouter: transport health and producer streams', () => {
  it('reports a fresh transport as new, with nothing received', async () => {
    const transport = await stream.createTransport('whip-1', 'send');
    expect(await stream.transportHealth('whip-1', transport.id)).toEqual({ iceState: 'new', dtlsState: 'new', bytesReceived: 0, bytesSent: 0 });
  });

  it("refuses another peer's transport or producer, and a closed peer's", async () => {
    const transport = await stream.createTransport('whip-1', 'send');
    const producerId = await stream.produce('whip-1', transport.id, { kind: 'video', rtpParameters: cameraRtpParameters(), source: 'camera' });
    await expectSfuError(stream.transportHealth('viewer', transport.id), 'transport_not_found');
    await expectSfuError(stream.producerStreams('viewer', producerId), 'producer_not_found');
    stream.closePeer('whip-1');
    await expectSfuError(stream.transportHealth('whip-1', transport.id), 'transport_not_found');
    await expectSfuError(stream.producerStreams('whip-1', producerId), 'producer_not_found');
  });

  it('lists no RTP stream for a simulcast producer before any packet arrives', async () => {
    const transport = await stream.createTransport('whip-1', 'send');
    const producerId = await stream.produce('whip-1', transport.id, { kind: 'video', rtpParameters: cameraRtpParameters(), source: 'camera' });
    expect(await stream.producerStreams('whip-1', producerId)).toEqual([]);
  });
});
