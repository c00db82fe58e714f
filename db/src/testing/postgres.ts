import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, run, ServiceStartError, startOwnedProcess, systemUser, type OwnedProcess } from './service.ts';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest Debian PostgreSQL's bin folder (PG_BIN overrides), or undefined if none is installed. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BIN) return existsSync(join(env.PG_BIN, 'initdb')) ? env.PG_BIN : undefined;
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], 'bin');
}

export interface TestPostgres {
  readonly port: number;
  /** URL of a database on this server (default: the `postgres` maintenance database). */
  url(database?: string): string;
  /** A new empty database; its name. */
  createDatabase(): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`) and keeps its data: clients now get connection errors. */
  halt(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  resume(): Promise<void>;
  /** Stops the server, then removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster: `initdb` in a temp dir, the server on a free
 * port of 127.0.0.1 with its unix socket in the same dir, trust auth for the
 * `postgres` role. PostgreSQL refuses to run as root, so as root everything
 * runs as the `postgres` system account (Debian's package creates it).
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new ServiceStartError(`PostgreSQL not found under ${PG_ROOT}/*/bin (apt-get install postgresql)`);
  const user = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
  if (process.getuid?.() === 0 && !user) throw new ServiceStartError('running as root and there is no postgres system account to run PostgreSQL as');
  const dir = mkdtempSync(join(tmpdir(), 'redred-pg-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(data, user.uid, user.gid);
  }
  const launch = (port: number) =>
    startOwnedProcess(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
      { ready: /database system is ready to accept connections/, ...(user ? { user } : {}), cwd: dir },
    );
  let server: OwnedProcess | undefined;
  let port = 0;
  try {
    // --no-sync: only initdb's own files; the running server keeps fsync and synchronous_commit on.
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...(user ? { user } : {}) });
    // A free port can be taken between the probe and the bind: try a few.
    for (let attempt = 0; !server; attempt++) {
      port = await freePort();
      try {
        server = await launch(port);
      } catch (err) {
        if (attempt >= 2 || !/could not bind|Address already in use/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let running = server;
  const halt = async () => {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      await run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w'], { ...(user ? { user } : {}) });
    }
    await running.exited;
  };
  let counter = 0;
  let stopped: Promise<void> | undefined;
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    port,
    url,
    async createDatabase() {
      const name = `redred_test_${++counter}`;
      await admin((c) => c.query(`create database ${name}`));
      return name;
    },
    async dropDatabase(name) {
      await admin((c) => c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
    },
    halt,
    async resume() {
      if (stopped) throw new ServiceStartError('this PostgreSQL was stopped for good');
      await halt();
      running = await launch(port);
    },
    stop() {
      stopped ??= halt().finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
