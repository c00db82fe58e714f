import { PostgresAdapter, sql, type Kysely } from 'kysely';

// What differs between SQLite and PostgreSQL at run time, in one place: error
// shapes and write serialisation. Schema types differ in postgres.ts only;
// queries are written once for both (db/README.md says how).

export type SqlDialect = 'sqlite' | 'postgres';

export function dialectOf(db: Kysely<any>): SqlDialect {
  // getExecutor() is marked internal, but it is how Kysely's own Migrator asks its adapter
  // what the dialect supports; it works for transactions too, where a wrapper map would not.
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** A unique index or primary key refused the row (better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; pg: SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A foreign key refused the row (better-sqlite3: SQLITE_CONSTRAINT_FOREIGNKEY; pg: SQLSTATE 23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * SQLite: busy, locked, full, read-only, I/O, cannot open, corrupt.
 * PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient
 * resources (disk full, out of memory, too many connections), 57P01-57P03
 * shutting down or starting up, 58 system (I/O) error; 25006 read-only
 * transaction (a standby); 40001 / 40P01 serialization failure and deadlock
 * (rolled back: a retry may succeed).
 */
const UNAVAILABLE_CODE = /^(SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|CORRUPT)|08...|53...|57P0[123]|58...|25006|40001|40P01)/;
/** The server cannot be reached (Node socket errors, from pg's connect). */
const UNREACHABLE_CODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/**
 * pg reports a connection lost mid-query, a pool wait that timed out and a
 * broken client by message only, without a code: these are its texts (pg 8).
 */
const PG_CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Cannot use a pool after calling end on the pool)/;

/**
 * The database could not store or answer, as opposed to a bug or a refused
 * row: the caller reports `unavailable` and never acknowledges the write.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && (UNAVAILABLE_CODE.test(code) || UNREACHABLE_CODE.has(code))) return true;
  return err instanceof Error && code === undefined && PG_CONNECTION_LOST.test(err.message);
}

/**
 * Makes the writes of one channel (comments at commit, moderation actions)
 * take turns, from the call until the transaction ends, so each decision reads
 * what the previous one committed: a comment committed after a ban sees the ban.
 * SQLite gives this already (one connection per process, one writer per file).
 * PostgreSQL at READ COMMITTED does not, between pooled connections or nodes: a
 * transaction-scoped advisory lock keyed by the channel id does. Call it first
 * in the transaction.
 */
export async function serializeChannelWrites(trx: Kysely<any>, channelId: number): Promise<void> {
  if (!trx.isTransaction) throw new Error('serializeChannelWrites must run inside a transaction');
  if (dialectOf(trx) !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(${channelId}::bigint)`.execute(trx);
}
