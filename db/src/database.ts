import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type { Pool } from 'pg';
import { Kysely, Migrator, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import { migrations } from './migrations/index.ts';
import { openPostgresDatabase } from './postgres.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseOptions {
  /** Path of the SQLite file; its folder is created. `:memory:` for throwaway use. */
  file: string;
  /** Milliseconds a writer waits for a lock held by another connection (the CLI, say). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** The embedded default: one SQLite file. */
export interface SqliteDatabaseHandle {
  readonly dialect: 'sqlite';
  db: Db;
  sqlite: SQLite.Database;
  /** Checkpoints the WAL into the main file and closes. Idempotent. */
  close(): Promise<void>;
}

/** Cluster mode: a PostgreSQL server shared by every node (postgres.ts). */
export interface PostgresDatabaseHandle {
  readonly dialect: 'postgres';
  db: Db;
  pool: Pool;
  /** Ends the pool once its queries have finished. Idempotent. */
  close(): Promise<void>;
}

export type DatabaseHandle = SqliteDatabaseHandle | PostgresDatabaseHandle;

/**
 * Opens the database with the durability settings every acknowledged write relies on:
 * WAL (readers never block the writer), synchronous=FULL (a commit is on disk before
 * we ack it, even across power loss, not only across a process crash), foreign keys on,
 * and a busy timeout so the operator CLI and the server can share the file.
 */
export function openDatabase({ file, busyTimeoutMs = 5000, readonly = false }: OpenDatabaseOptions): SqliteDatabaseHandle {
  if (file !== ':memory:' && !readonly) mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file, { readonly, timeout: busyTimeoutMs });
  if (!readonly) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    dialect: 'sqlite',
    db,
    sqlite,
    async close() {
      if (closed) return;
      closed = true;
      if (!readonly && sqlite.open) {
        try {
          sqlite.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // A checkpoint blocked by another connection is harmless: the WAL stays valid.
        }
      }
      await db.destroy();
    },
  };
}

/**
 * The database the configuration names: PostgreSQL when `databaseUrl` is set
 * (cluster mode), else the SQLite file (the embedded default).
 */
export function openConfiguredDatabase(opts: { databaseUrl?: string | undefined; file: string; onIdleError?: (err: Error) => void }): DatabaseHandle {
  if (opts.databaseUrl) return openPostgresDatabase({ url: opts.databaseUrl, ...(opts.onIdleError ? { onIdleError: opts.onIdleError } : {}) });
  return openDatabase({ file: opts.file });
}

export class MigrationError extends Error {
  readonly code = 'migration_failed';
  constructor(message: string, readonly results: MigrationResultSet['results']) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Applies every pending migration; a no-op when the schema is current. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw new MigrationError(`migration failed: ${error instanceof Error ? error.message : String(error)}`, results);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when the database answers a trivial query (health checks). */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
