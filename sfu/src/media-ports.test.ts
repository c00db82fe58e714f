import { afterEach, describe, expect, it } from 'vitest';
import { StreamRouter } from './StreamRouter.ts';
import { captureLogger, expectSfuError, freeConsecutivePorts, nextEvent } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

// One UDP + one TCP port per worker (its WebRtcServer), at fixed, known numbers.

const PIPE_PORTS = { rtcMinPort: 46000, rtcMaxPort: 46199 };

let pool: WorkerPool | undefined;
let stream: StreamRouter | undefined;

afterEach(() => {
  stream?.close();
  pool?.close();
  stream = undefined;
  pool = undefined;
});

function portsOf(candidates: { protocol: string; port: number; ip: string }[]) {
  return candidates.map(({ protocol, port, ip }) => ({ protocol, port, ip })).sort((a, b) => a.protocol.localeCompare(b.protocol));
}

describe('WorkerPool: one media port per worker', () => {
  it('gives each worker its own fixed port, RTC_PORT + slot, for UDP and TCP', async () => {
    const rtcPort = await freeConsecutivePorts(2);
    pool = await WorkerPool.create({ numWorkers: 2, rtcPort, ...PIPE_PORTS }, { logger: captureLogger() });

    expect(pool.mediaPorts().map(({ slot, udp, tcp }) => ({ slot, udp, tcp }))).toEqual([
      { slot: 0, udp: rtcPort, tcp: rtcPort },
      { slot: 1, udp: rtcPort + 1, tcp: rtcPort + 1 },
    ]);
  });

  it("offers every transport exactly its worker's port as ICE candidates: UDP preferred, TCP passive", async () => {
    const rtcPort = await freeConsecutivePorts(2);
    pool = await WorkerPool.create({ numWorkers: 2, rtcPort, ...PIPE_PORTS }, { logger: captureLogger() });
    stream = await StreamRouter.create(pool, 'stream-ports');

    const send = await stream.createTransport('streamer', 'send');
    const recv = await stream.createTransport('viewer', 'recv');

    const originPid = stream.placement().origin.workerPid;
    const port = pool.mediaPorts().find((row) => row.pid === originPid)!.udp;
    for (const offer of [send, recv]) {
      expect(portsOf(offer.iceCandidates)).toEqual([
        { protocol: 'tcp', port, ip: '127.0.0.1' },
        { protocol: 'udp', port, ip: '127.0.0.1' },
      ]);
      const udp = offer.iceCandidates.find((c) => c.protocol === 'udp')!;
      const tcp = offer.iceCandidates.find((c) => c.protocol === 'tcp')!;
      expect(udp.priority).toBeGreaterThan(tcp.priority);
      expect(tcp.tcpType).toBe('passive');
    }
  });

  it('announces the configured address (a hostname too) in place of the listen address', async () => {
    pool = await WorkerPool.create(
      { numWorkers: 1, rtcPort: 0, announcedAddress: 'media.example.org', ...PIPE_PORTS },
      { logger: captureLogger() },
    );
    stream = await StreamRouter.create(pool, 'stream-announced');

    const offer = await stream.createTransport('viewer', 'recv');

    expect(offer.iceCandidates.map((c) => c.ip)).toEqual(['media.example.org', 'media.example.org']);
  });

  it('serves on the same port again once a dead worker is replaced', async () => {
    const rtcPort = await freeConsecutivePorts(2);
    pool = await WorkerPool.create({ numWorkers: 2, rtcPort, ...PIPE_PORTS }, { logger: captureLogger() });
    const victim = pool.workers[1]!;
    const replaced = nextEvent(pool, 'workerreplaced');

    process.kill(victim.pid, 'SIGKILL');
    const [{ worker }] = await replaced;

    expect(pool.mediaPorts().find((row) => row.slot === 1)).toEqual({ slot: 1, pid: worker.pid, udp: rtcPort + 1, tcp: rtcPort + 1 });
    // The first stream takes worker 0 (ties go to the lower slot); the second lands on the replacement.
    const busy = await StreamRouter.create(pool, 'stream-on-0');
    stream = await StreamRouter.create(pool, 'stream-on-replacement');
    expect(stream.placement().origin.workerPid).toBe(worker.pid);
    const offer = await stream.createTransport('viewer', 'recv');
    expect(new Set(offer.iceCandidates.map((c) => c.port))).toEqual(new Set([rtcPort + 1]));
    busy.close();
  });

  it('fails to start with worker_unavailable when the port is taken, and refuses overlapping ranges', async () => {
    const rtcPort = await freeConsecutivePorts(1);
    pool = await WorkerPool.create({ numWorkers: 1, rtcPort, ...PIPE_PORTS }, { logger: captureLogger() });

    await expectSfuError(WorkerPool.create({ numWorkers: 1, rtcPort, ...PIPE_PORTS }, { logger: captureLogger() }), 'worker_unavailable');
    await expectSfuError(
      () => WorkerPool.create({ numWorkers: 2, rtcPort: PIPE_PORTS.rtcMinPort - 1, ...PIPE_PORTS }),
      'invalid_parameters',
    );
  });
});
