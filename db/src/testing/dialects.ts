import { afterAll, beforeAll, describe } from 'vitest';
import { migrateToLatest, type DatabaseHandle } from '../database.ts';
import type { SqlDialect } from '../dialect.ts';
import { openPostgresDatabase } from '../postgres.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from './postgres.ts';
import { inCI } from './service.ts';
import { openTempDatabase } from './tempDatabase.ts';

export type TempDatabase = DatabaseHandle & { dispose(): Promise<void> };

/** One dialect under test: fresh, migrated databases on demand. */
export interface DialectFixture {
  readonly dialect: SqlDialect;
  /** A new migrated database (a SQLite file in a temp dir, or a new PostgreSQL database); `dispose` closes and removes it. */
  openDatabase(): Promise<TempDatabase>;
  /**
   * Where a server under test keeps its data: `{}` for SQLite (the server's
   * data dir), `{ databaseUrl }` of a new empty database for PostgreSQL.
   */
  serverStorage(): Promise<{ databaseUrl?: string }>;
  /** The PostgreSQL server itself (outage tests stop and resume it); undefined for SQLite. */
  readonly postgres: TestPostgres | undefined;
}

/**
 * Runs `body` once per dialect: `describe('<name> [sqlite]')` and
 * `describe('<name> [postgres]')`, the second with its own PostgreSQL server
 * (see `describePostgres`).
 */
export function describeEachDialect(name: string, body: (fixture: DialectFixture) => void): void {
  describe(`${name} [sqlite]`, () => body(sqliteFixture()));
  describePostgres(name, body);
}

/**
 * `describe('<name> [postgres]')` with a PostgreSQL server started before its
 * tests and stopped after. Without PostgreSQL binaries it is skipped, except
 * under CI (CI set), where starting fails and so do the tests.
 */
export function describePostgres(name: string, body: (fixture: DialectFixture) => void): void {
  const missing = findPostgresBin() === undefined;
  describe.skipIf(missing && !inCI())(`${name} [postgres]`, () => {
    const fixture = postgresFixture();
    beforeAll(() => fixture.start());
    afterAll(() => fixture.stop());
    body(fixture);
  });
}

function sqliteFixture(): DialectFixture {
  return {
    dialect: 'sqlite',
    openDatabase: openTempDatabase,
    serverStorage: async () => ({}),
    postgres: undefined,
  };
}

function postgresFixture(): DialectFixture & { start(): Promise<void>; stop(): Promise<void> } {
  let server: TestPostgres | undefined;
  const started = (): TestPostgres => {
    if (!server) throw new Error('the PostgreSQL fixture is used outside its describe block');
    return server;
  };
  return {
    dialect: 'postgres',
    get postgres() {
      return started();
    },
    async start() {
      server = await startPostgres();
    },
    async stop() {
      await server?.stop();
    },
    async openDatabase() {
      const pgServer = started();
      const name = await pgServer.createDatabase();
      const handle = openPostgresDatabase({ url: pgServer.url(name) });
      await migrateToLatest(handle.db);
      return {
        ...handle,
        async dispose() {
          await handle.close();
          await pgServer.dropDatabase(name);
        },
      };
    },
    async serverStorage() {
      const pgServer = started();
      return { databaseUrl: pgServer.url(await pgServer.createDatabase()) };
    },
  };
}
