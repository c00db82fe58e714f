import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '@redred/db';
import { dbFileIn } from '../plugins/db.ts';

export type CliTestDatabase = DatabaseHandle & { dir: string };

/**
 * A migrated SQLite database in a fresh DATA_DIR for each test of the file
 * (the CLI finds it through `DATA_DIR`), closed and removed after it. Read the
 * returned getter inside tests: the handle changes from test to test.
 */
export function useCliDatabase(prefix: string): () => CliTestDatabase {
  let current: CliTestDatabase | undefined;
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), `redred-cli-${prefix}-`));
    const handle = openDatabase({ file: dbFileIn(dir) });
    await migrateToLatest(handle.db);
    current = Object.assign(handle, { dir });
  });
  afterEach(async () => {
    await current?.close();
    if (current) rmSync(current.dir, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('the CLI test database exists only inside a test');
    return current;
  };
}
