import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, inCI, ServiceStartError, startOwnedProcess, type OwnedProcess } from '@redred/db/testing';
import { afterAll, beforeAll, describe } from 'vitest';

/** redis-server on the PATH or where Debian's package puts it; undefined if absent. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  return dirs.map((d) => join(d, 'redis-server')).find((p) => existsSync(p));
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (its data is gone: no persistence). Clients see the connection drop. */
  halt(): Promise<void>;
  /** Starts an empty server again on the same port. */
  resume(): Promise<void>;
  /** Stops it for good and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

/** A throwaway redis-server: free port on 127.0.0.1, its own temp dir, no RDB or AOF persistence. */
export async function startRedis(): Promise<TestRedis> {
  const bin = findRedisServer();
  if (!bin) throw new ServiceStartError('redis-server not found (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'redred-redis-'));
  const launch = (port: number) =>
    startOwnedProcess(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      ready: /Ready to accept connections/,
      cwd: dir,
    });
  let server: OwnedProcess | undefined;
  let port = 0;
  try {
    // A free port can be taken between the probe and the bind: try a few.
    for (let attempt = 0; !server; attempt++) {
      port = await freePort();
      try {
        server = await launch(port);
      } catch (err) {
        if (attempt >= 2 || !/Address already in use/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let running = server;
  let stopped: Promise<void> | undefined;
  const halt = async () => {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
    await running.exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    halt,
    async resume() {
      if (stopped) throw new ServiceStartError('this Redis was stopped for good');
      await halt();
      running = await launch(port);
    },
    stop() {
      stopped ??= halt().finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * `describe(name)` with a Redis started before its tests and stopped after;
 * `redis()` returns it inside tests. Without redis-server it is skipped,
 * except under CI (CI set), where starting fails and so do the tests.
 */
export function describeWithRedis(name: string, body: (redis: () => TestRedis) => void): void {
  describe.skipIf(findRedisServer() === undefined && !inCI())(name, () => {
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
