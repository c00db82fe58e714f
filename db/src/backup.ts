import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import SQLite from 'better-sqlite3';

/** Why a backup or restore was refused; `code` is stable for the CLI and tests. */
export class BackupError extends Error {
  readonly code: 'integrity' | 'in_use' | 'not_found' | 'exists';
  constructor(code: BackupError['code'], message: string) {
    super(message);
    this.name = 'BackupError';
    this.code = code;
  }
}

/** `pragma integrity_check` of a file, opened read-only: 'ok', or the first problems SQLite lists. */
export function integrityOf(file: string): string {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/**
 * Copies a live SQLite database with SQLite's online backup API: safe while the
 * server writes (the copy is one consistent snapshot, WAL content included, taken
 * while writers go on), then verified with `integrity_check`. A failed check
 * deletes the copy. Returns the copy's page count.
 */
export async function backupSqlite(source: string, destination: string): Promise<{ pages: number }> {
  if (!existsSync(source)) throw new BackupError('not_found', `no database at ${source}`);
  if (existsSync(destination)) throw new BackupError('exists', `${destination} exists; choose a new file`);
  const db = new SQLite(source, { fileMustExist: true, timeout: 5000 });
  let pages: number;
  try {
    ({ totalPages: pages } = await db.backup(destination));
  } finally {
    db.close();
  }
  const integrity = integrityOf(destination);
  if (integrity !== 'ok') {
    rmSync(destination, { force: true });
    throw new BackupError('integrity', `the copy failed integrity_check (${integrity}); nothing was kept`);
  }
  return { pages };
}

/**
 * Puts a backup in place of `target`, with the server stopped: a connection that
 * has the database open (a running server) makes the exclusive lock fail, and
 * nothing changes. The previous file is kept beside it as `<target>.before-restore-<now>`.
 */
export function restoreSqlite(backup: string, target: string, now: number): { previous: string | null } {
  if (!existsSync(backup)) throw new BackupError('not_found', `no backup at ${backup}`);
  const integrity = integrityOf(backup);
  if (integrity !== 'ok') throw new BackupError('integrity', `the backup fails integrity_check (${integrity})`);
  let previous: string | null = null;
  if (existsSync(target)) {
    const probe = new SQLite(target, { timeout: 0 });
    try {
      // Exclusive locking mode takes the file's lock outright; any open connection (WAL mode) refuses it.
      probe.pragma('locking_mode = EXCLUSIVE');
      probe.exec('begin exclusive');
      probe.exec('commit');
      probe.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      throw new BackupError('in_use', `${target} is open (is the server running?); stop it before restoring`);
    } finally {
      probe.close();
    }
    previous = `${target}.before-restore-${now}`;
    renameSync(target, previous);
    for (const side of ['-wal', '-shm']) rmSync(`${target}${side}`, { force: true });
  }
  copyFileSync(backup, target);
  return { previous };
}
