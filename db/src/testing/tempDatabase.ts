import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../database.ts';

/** A real SQLite file in a fresh temp dir, migrated; `dispose` closes and removes it. */
export async function openTempDatabase(): Promise<DatabaseHandle & { dir: string; file: string; dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'redred-db-'));
  const file = join(dir, 'redred.sqlite');
  const handle = openDatabase({ file });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    dir,
    file,
    async dispose() {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
