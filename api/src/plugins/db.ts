import { join } from 'node:path';
import fp from 'fastify-plugin';
import { migrateToLatest, openDatabase, type Db, type DatabaseHandle } from '@redred/db';

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

/** Opens the SQLite file, migrates it, and closes it (WAL checkpointed) last on shutdown. */
export const dbPlugin = fp<{ dataDir: string }>(
  async (app, opts) => {
    const handle = openDatabase({ file: dbFileIn(opts.dataDir) });
    const applied = await migrateToLatest(handle.db);
    if (applied.length > 0) app.log.info({ module: 'db', applied }, 'migrations applied');
    app.decorate('db', handle.db);
    app.decorate('dbHandle', handle);
    app.addHook('onClose', async () => {
      await handle.close();
    });
  },
  { name: 'redred-db' },
);
