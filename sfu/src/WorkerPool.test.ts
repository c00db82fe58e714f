import { afterEach, describe, expect, it } from 'vitest';
import { resolveSfuConfig, workerListenPort, workerPortRange } from './config.ts';
import { SfuError } from './errors.ts';
import { captureLogger, nextEvent } from './testFixtures.ts';
import { WorkerPool } from './WorkerPool.ts';

const PORTS = { rtcPort: 0, rtcMinPort: 43000, rtcMaxPort: 43199 };

describe('SfuConfig', () => {
  it('splits the pipe port range between workers without overlap', () => {
    const config = resolveSfuConfig({ numWorkers: 3, rtcMinPort: 40000, rtcMaxPort: 40299, rtcPort: 39000 });
    const ranges = [0, 1, 2].map((slot) => workerPortRange(config, slot));
    expect(ranges).toEqual([
      { min: 40000, max: 40099 },
      { min: 40100, max: 40199 },
      { min: 40200, max: 40299 },
    ]);
  });

  it('rejects a port range too small for the workers with invalid_parameters', () => {
    expect(() => resolveSfuConfig({ numWorkers: 4, rtcMinPort: 40000, rtcMaxPort: 40010 })).toThrowError(
      expect.objectContaining({ code: 'invalid_parameters' }) as Error,
    );
  });

  it('defaults to media on port 40000 + slot, pipes from 40100-40999, VP8 + Opus and 250 consumers per router', () => {
    const config = resolveSfuConfig({ numWorkers: 2 });
    expect([0, 1].map((slot) => workerListenPort(config, slot))).toEqual([40000, 40001]);
    expect(workerPortRange(config, 1)).toEqual({ min: 40550, max: 40999 });
    expect(workerListenPort(resolveSfuConfig({ rtcPort: 0 }), 3)).toBe(0);
    expect(config.mediaCodecs.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8']);
    expect(config.maxConsumersPerRouter).toBe(250);
    expect(resolveSfuConfig({ enableH264: true }).mediaCodecs.map((c) => c.mimeType)).toContain('video/H264');
  });
});

describe('WorkerPool', () => {
  let pool: WorkerPool | undefined;
  afterEach(() => {
    pool?.close();
    pool = undefined;
  });

  it('starts one worker per slot and reports CPU time and load for each', async () => {
    pool = await WorkerPool.create({ numWorkers: 2, ...PORTS }, { logger: captureLogger() });
    const [first] = pool.workers;
    await first!.createRouter({ mediaCodecs: pool.config.mediaCodecs });

    const usage = await pool.getResourceUsage();

    expect(usage).toHaveLength(2);
    expect(new Set(usage.map((u) => u.pid)).size).toBe(2);
    expect(usage.map((u) => u.slot)).toEqual([0, 1]);
    for (const row of usage) expect(row.cpuMs).toBeGreaterThanOrEqual(0);
    expect(usage.find((u) => u.pid === first!.pid)?.routers).toBe(1);
  });

  it('picks the least-loaded worker and uses avoided workers only as a last resort', async () => {
    pool = await WorkerPool.create({ numWorkers: 2, ...PORTS }, { logger: captureLogger() });
    const [a, b] = pool.workers;
    if (!a || !b) throw new Error('expected two workers');
    await a.createRouter({ mediaCodecs: pool.config.mediaCodecs });

    expect(await pool.leastLoadedWorker()).toBe(b);
    expect(await pool.leastLoadedWorker({ avoid: [b] })).toBe(a);
    expect(await pool.leastLoadedWorker({ avoid: [a, b] })).toBe(b);
  });

  it('replaces a SIGKILLed worker in the same slot and emits workerreplaced', async () => {
    const logger = captureLogger();
    pool = await WorkerPool.create({ numWorkers: 2, ...PORTS }, { logger });
    const victim = pool.workers[1]!;
    const replaced = nextEvent(pool, 'workerreplaced');

    process.kill(victim.pid, 'SIGKILL');
    const [{ slot, oldPid, worker }] = await replaced;

    expect(slot).toBe(1);
    expect(oldPid).toBe(victim.pid);
    expect(worker.pid).not.toBe(victim.pid);
    expect(pool.workers).toHaveLength(2);
    expect(pool.workers[1]).toBe(worker);
    expect(logger.lines.some((l) => l.level === 'error' && l.fields['pid'] === victim.pid)).toBe(true);
    await expect(worker.createRouter({ mediaCodecs: pool.config.mediaCodecs })).resolves.toBeDefined();
  });

  it('close is idempotent, closes every worker and refuses new work', async () => {
    pool = await WorkerPool.create({ numWorkers: 2, ...PORTS }, { logger: captureLogger() });
    const workers = pool.workers;
    let closes = 0;
    pool.on('close', () => closes++);

    pool.close();
    pool.close();

    expect(pool.closed).toBe(true);
    expect(closes).toBe(1);
    expect(workers.every((w) => w.closed)).toBe(true);
    await expect(pool.leastLoadedWorker()).rejects.toBeInstanceOf(SfuError);
  });
});
