import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseOptions {
  /** Path of the SQLite file; its folder is created. `:memory:` for throwaway use. */
  file: string;
  /** Milliseconds a writer waits for a lock held by another connection (the CLI, say). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export interface DatabaseHandle {
  db: Db;
  sqlite: SQLite.Database;
  /** Checkpoints the WAL into the main file and closes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the database with the durability settings every acknowledged write relies on:
 * WAL (readers never block the writer), synchronous=FULL (a commit is on disk before
 * we ack it, even across power loss, not only across a process crash), foreign keys on,
 * and a busy timeout so the operator CLI and the server can share the file.
 */
export function openDatabase({ file, busyTimeoutMs = 5000, readonly = false }: OpenDatabaseOptions): DatabaseHandle {
  if (file !== ':memory:' && !readonly) mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file, { readonly, timeout: busyTimeoutMs });
  if (!readonly) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
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
