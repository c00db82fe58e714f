import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backupSqlite, BackupError, restoreSqlite } from '@redred/db';
import { operatorPath } from '../config.ts';
import { dbFileIn } from '../plugins/db.ts';
import { configFor, type CliIo } from './io.ts';
import { EXIT, type ExitCode } from './streams.ts';

export const BACKUP_USAGE = `Usage: redred backup FILE [--data-dir DIR]
       redred restore FILE [--data-dir DIR] [--yes]

backup   copies redred.sqlite to FILE with SQLite's online backup API: safe while
         the server runs; the copy is checked with integrity_check.
restore  puts FILE in place of redred.sqlite. Stop the server first (refused
         while it has the database open); the old file is kept beside it as
         redred.sqlite.before-restore-<time>. Asks first unless --yes.

With DATABASE_URL (PostgreSQL, cluster mode) use pg_dump / pg_restore instead
(docs/operations.md).`;

/** `redred backup FILE` and `redred restore FILE`. */
export async function runBackupCli(command: 'backup' | 'restore', argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { 'data-dir': { type: 'string' }, yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}\n\n${BACKUP_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(BACKUP_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || (command === 'backup' && values.yes)) {
    io.err(`redred: ${command} takes one FILE${values.yes && command === 'backup' ? ' (--yes is for restore)' : ''}\n\n${BACKUP_USAGE}`);
    return EXIT.usage;
  }
  const config = configFor(io);
  if (!config) return EXIT.error;
  if (config.databaseUrl) {
    io.err(`redred: DATABASE_URL is set: back up PostgreSQL with pg_dump (and restore with pg_restore), see docs/operations.md`);
    return EXIT.error;
  }
  const database = dbFileIn(values['data-dir'] ? operatorPath(values['data-dir'], io.env) : config.dataDir);
  const file = resolve(io.env.INIT_CWD || process.cwd(), positionals[0]!);
  try {
    if (command === 'backup') {
      const { pages } = await backupSqlite(database, file);
      io.out(`backed up ${database} to ${file} (${pages} pages, integrity_check ok)`);
      return EXIT.ok;
    }
    if (!values.yes && !(await io.confirm(`Replace ${database} with ${file}? The server must be stopped. [y/N] `))) {
      io.err('redred: not restored');
      return EXIT.error;
    }
    const { previous } = restoreSqlite(file, database, io.now());
    io.out(`restored ${file} to ${database}${previous ? `; the previous database is kept as ${previous}` : ''}`);
    return EXIT.ok;
  } catch (err) {
    io.err(`redred: ${err instanceof BackupError || err instanceof Error ? err.message : String(err)}`);
    return EXIT.error;
  }
}
