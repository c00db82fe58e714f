import { join } from 'node:path';
import fp from 'fastify-plugin';
import { migrateToLatest, openConfiguredDatabase, type Db, type DatabaseHandle } from '@redred/db';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    dbHandle: DatabaseHandle;
  }
}

export const DB_FILE_NAME = 'redred.sqlite';

export function dbFileIn(dataDir: string): string {
  return join(dataDir, DB_FILE_NAME);
}

/**
 * Opens the database — PostgreSQL when `databaseUrl` is set, else the SQLite
 * file in `dataDir` — migrates it, and closes it (SQLite: WAL checkpointed)
 * last on shutdown. Nodes of a cluster migrating at once take turns: Kysely's
 * migrator holds a lock row while it works.
 */
export const dbPlugin = fp<{ dataDir: string; databaseUrl: string | undefined }>(
  async (app, opts) => {
    const log = app.log.child({ module: 'db' });
    const handle = openConfiguredDatabase({
      databaseUrl: opts.databaseUrl,
      file: dbFileIn(opts.dataDir),
      onIdleError: (err) => log.warn({ err }, 'an idle PostgreSQL connection broke; the pool replaces it'),
    });
    if (handle.dialect === 'postgres') log.info('database: PostgreSQL (DATABASE_URL)');
    const applied = await migrateToLatest(handle.db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    app.decorate('db', handle.db);
    app.decorate<DatabaseHandle>('dbHandle', handle);
    app.addHook('onClose', async () => {
      await handle.close();
    });
  },
  { name: 'redred-db' },
);
