import { afterAll, beforeAll, describe } from 'vitest';
import { OwnedProcess, freePort, requireBinary, skipWithout } from './owned-process.ts';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (its data is gone: no persistence). Clients see the connection drop. */
  halt(): Promise<void>;
  /** Starts an empty server again on the same port. */
  resume(): Promise<void>;
  /** Stops it for good. Idempotent. */
  stop(): Promise<void>;
}

/** A throwaway redis-server: a free port on 127.0.0.1, its own temp dir, no RDB or AOF persistence. */
export async function startRedis(): Promise<TestRedis> {
  const bin = requireBinary('redis-server');
  const launch = async (port: number) => {
    const proc = new OwnedProcess('redis');
    await proc.start(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', proc.dir, '--daemonize', 'no'], {
      ready: /Ready to accept connections/,
    });
    return proc;
  };
  const port = await freePort();
  let running = await launch(port);
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    halt: () => running.close(),
    async resume() {
      if (stopped) throw new Error('this Redis was stopped for good');
      await running.close();
      running = await launch(port);
    },
    async stop() {
      stopped = true;
      await running.close();
    },
  };
}

/**
 * `describe(name)` with a Redis started before its tests and stopped after;
 * `redis()` returns it inside tests. Without redis-server it is skipped,
 * except under CI=true, where starting fails and so do the tests.
 */
export function describeWithRedis(name: string, body: (redis: () => TestRedis) => void): void {
  describe.skipIf(skipWithout('redis-server'))(name, () => {
    let server: TestRedis | undefined;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(() => server?.stop());
    body(() => {
      if (!server) throw new Error('Redis is used outside its describe block');
      return server;
    });
  });
}
