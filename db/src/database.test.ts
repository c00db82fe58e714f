import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from './database.ts';
import { migrations } from './migrations/index.ts';

describe('openDatabase + migrateToLatest', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates an empty file and a second run is a no-op', async () => {
    dir = mkdtempSync(join(tmpdir(), 'redred-db-'));
    const file = join(dir, 'nested', 'redred.sqlite');
    const first = openDatabase({ file });
    expect(await migrateToLatest(first.db)).toEqual(Object.keys(migrations));
    expect(Object.keys(migrations)[0]).toBe('2026_11_24_001_init');
    expect(await migrateToLatest(first.db)).toEqual([]);
    await first.close();

    const again = openDatabase({ file });
    expect(await migrateToLatest(again.db)).toEqual([]);
    const tables = again.sqlite
      .prepare("select name from sqlite_master where type = 'table' and name not like 'kysely%' and name not like 'sqlite%' order by name")
      .pluck()
      .all();
    expect(tables).toEqual([
      'channel_bans',
      'channel_restrictions',
      'channel_roles',
      'chat_settings',
      'live_stream_comments',
      'live_streams',
      'moderation_log',
      'sessions',
      'stream_viewers',
      'users',
      'viewer_samples',
    ]);
    await again.close();
  });

  it('opens with WAL, synchronous=FULL, foreign keys and a busy timeout', async () => {
    dir = mkdtempSync(join(tmpdir(), 'redred-db-'));
    const h = openDatabase({ file: join(dir, 'x.sqlite'), busyTimeoutMs: 1234 });
    expect(h.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(h.sqlite.pragma('synchronous', { simple: true })).toBe(2);
    expect(h.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(h.sqlite.pragma('busy_timeout', { simple: true })).toBe(1234);
    await h.close();
    await h.close();
  });
});
