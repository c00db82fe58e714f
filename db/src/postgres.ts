import pg from 'pg';
import {
  ColumnDefinitionNode,
  DataTypeNode,
  GeneratedNode,
  Kysely,
  OperationNodeTransformer,
  PostgresDialect,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { Database } from './schema.ts';
import type { PostgresDatabaseHandle } from './database.ts';

export interface OpenPostgresOptions {
  /** `postgres://user:password@host:port/database` (DATABASE_URL). */
  url: string;
  /** Connections per process. Transactions of one channel wait for each other anyway (`serializeChannelWrites`). */
  poolSize?: number;
  /** How long a query waits for a connection before failing as unavailable (0 would wait forever). */
  connectTimeoutMs?: number;
  /** An idle pooled connection broke (server restart, network): reported, never thrown (an unhandled `error` event would kill the process). */
  onIdleError?: (err: Error) => void;
}

const INT8_OID = 20;

/**
 * `pg` returns int8 (bigint) as a string because it may exceed 2^53. Ours are
 * ids, counts and millisecond times, all far below that: they come back as
 * numbers, like SQLite's integers. A value past 2^53 fails its query (pg turns
 * a parser's throw into the query's error) rather than being silently rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} does not fit a JavaScript number`);
  return n;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The migrations' column types, read the way SQLite reads them: `integer` is a
 * 64-bit integer there (our times are milliseconds, past 2^31), so it becomes
 * `bigint` here; an `autoIncrement()` primary key becomes an identity column.
 * The one place where schema SQL differs between the dialects (db/README.md).
 */
class PortableSchemaTransformer extends OperationNodeTransformer {
  protected override transformDataType(node: DataTypeNode): DataTypeNode {
    return node.dataType === 'integer' ? DataTypeNode.create('bigint') : super.transformDataType(node);
  }

  protected override transformColumnDefinition(node: ColumnDefinitionNode): ColumnDefinitionNode {
    const out = super.transformColumnDefinition(node);
    if (!out.autoIncrement) return out;
    return ColumnDefinitionNode.cloneWith(out, { autoIncrement: false, generated: GeneratedNode.create({ byDefault: true, identity: true }) });
  }
}

class PortableSchemaPlugin implements KyselyPlugin {
  readonly #transformer = new PortableSchemaTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/**
 * Opens a pool on a PostgreSQL database. Every connection runs with
 * `synchronous_commit = on` whatever the server's default: a commit is flushed
 * to the WAL on disk (and to synchronous standbys, if any) before it returns,
 * so an acknowledged write survives a crash of the server, as with SQLite's
 * synchronous=FULL. Isolation is Postgres's default, READ COMMITTED.
 */
export function openPostgresDatabase({ url, poolSize = 10, connectTimeoutMs = 5000, onIdleError }: OpenPostgresOptions): PostgresDatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    options: '-c synchronous_commit=on',
    types,
  });
  pool.on('error', (err) => onIdleError?.(err));
  // The pool listens only to idle clients. A connection that dies while checked
  // out (inside a transaction, between two queries) emits 'error' on its client,
  // which without a listener would crash the process; the query in flight, if
  // any, fails on its own and the pool discards the client when it is released.
  pool.on('connect', (client) => client.on('error', (err) => onIdleError?.(err)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new PortableSchemaPlugin()] });
  let closed = false;
  return {
    dialect: 'postgres',
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      // Kysely's destroy ends the pool.
      await db.destroy();
    },
  };
}
