import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from './database.ts';
import { dialectOf, isDatabaseUnavailable } from './dialect.ts';
import { migrations } from './migrations/index.ts';
import { openPostgresDatabase } from './postgres.ts';
import { describeEachDialect, describePostgres } from './testing/dialects.ts';
import { openTempDatabase } from './testing/tempDatabase.ts';
import { createUser } from './users.ts';

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
      'admin_log',
      'channel_bans',
      'channel_restrictions',
      'channel_roles',
      'chat_settings',
      'invites',
      'live_stream_comments',
      'live_streams',
      'moderation_log',
      'password_resets',
      'recording_settings',
      'recordings',
      'sessions',
      'site_settings',
      'stream_keys',
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

const TABLES = [
  'admin_log',
  'channel_bans',
  'channel_restrictions',
  'channel_roles',
  'chat_settings',
  'invites',
  'live_stream_comments',
  'live_streams',
  'moderation_log',
  'password_resets',
  'recording_settings',
  'recordings',
  'sessions',
  'site_settings',
  'stream_keys',
  'stream_viewers',
  'users',
  'viewer_samples',
];

describeEachDialect('the migrations', (fx) => {
  it('build the same tables and columns, and a second run is a no-op', async () => {
    const h = await fx.openDatabase();
    try {
      expect(dialectOf(h.db)).toBe(fx.dialect);
      expect(await migrateToLatest(h.db)).toEqual([]);
      const tables = (await h.db.introspection.getTables()).filter((t) => !t.isView).sort((a, b) => a.name.localeCompare(b.name));
      expect(tables.map((t) => t.name)).toEqual(TABLES);
      const streams = tables.find((t) => t.name === 'live_streams')!;
      expect(streams.columns.find((c) => c.name === 'id')).toMatchObject({ isAutoIncrementing: true });
      expect(streams.columns.map((c) => c.name)).toContain('streamer_seen_at');
    } finally {
      await h.dispose();
    }
  });
});

describePostgres('PostgreSQL specifics', (fx) => {
  const columnTypes = (db: Db) =>
    sql<{ table_name: string; column_name: string; data_type: string; is_identity: string }>`
      select table_name, column_name, data_type, is_identity from information_schema.columns
      where table_schema = 'public' and table_name not like 'kysely%'`.execute(db);

  it('builds the same tables, columns, nullability and defaults as on SQLite', async () => {
    // SQLite reports an INTEGER PRIMARY KEY as nullable and keeps defaults as written.
    const shape = async (db: Db) =>
      (await db.introspection.getTables())
        .filter((t) => !t.isView)
        .map((t) => ({ table: t.name, columns: t.columns.map((c) => `${c.name}${c.isNullable && !c.isAutoIncrementing ? '?' : ''}${c.hasDefaultValue ? '=' : ''}`).sort() }))
        .sort((a, b) => a.table.localeCompare(b.table));
    const lite = await openTempDatabase();
    const h = await fx.openDatabase();
    try {
      expect(await shape(h.db)).toEqual(await shape(lite.db));
    } finally {
      await h.dispose();
      await lite.dispose();
    }
  });

  it('stores every integer column as bigint, ids as identity columns', async () => {
    const h = await fx.openDatabase();
    try {
      const { rows } = await columnTypes(h.db);
      expect(rows.length).toBeGreaterThan(50);
      expect(new Set(rows.map((r) => r.data_type))).toEqual(new Set(['bigint', 'text']));
      const identities = rows.filter((r) => r.is_identity === 'YES').map((r) => `${r.table_name}.${r.column_name}`).sort();
      expect(identities).toEqual(['admin_log.id', 'channel_restrictions.id', 'live_stream_comments.id', 'live_streams.id', 'moderation_log.id', 'recordings.id', 'sessions.id', 'users.id']);
      expect(rows.find((r) => r.table_name === 'live_streams' && r.column_name === 'created_at')?.data_type).toBe('bigint');
    } finally {
      await h.dispose();
    }
  });

  it('returns bigints as numbers, and fails a query rather than round one past 2^53', async () => {
    const h = await fx.openDatabase();
    try {
      const at = Date.UTC(2300, 0, 1);
      const res = await createUser(h.db, { username: 'Ana', passwordHash: 'x', now: at });
      if (!res.ok) throw new Error('user');
      expect(res.user).toMatchObject({ created_at: at });
      expect(typeof res.user.id).toBe('number');
      const counted = await h.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(counted.n).toBe(1);
      await expect(sql`select 9007199254740993::bigint as big`.execute(h.db)).rejects.toThrow(/does not fit/);
      // The pool is still usable after the refused row.
      expect((await sql<{ one: number }>`select 1::bigint as one`.execute(h.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await h.dispose();
    }
  });

  it('commits with synchronous_commit on even where the server default is off', async () => {
    const pgServer = fx.postgres!;
    const name = await pgServer.createDatabase();
    const admin = openPostgresDatabase({ url: pgServer.url(name), poolSize: 1 });
    await sql.raw(`alter database ${name} set synchronous_commit = off`).execute(admin.db);
    await admin.close();
    const h = openPostgresDatabase({ url: pgServer.url(name) });
    try {
      const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(h.db);
      expect(rows).toEqual([{ synchronous_commit: 'on' }]);
    } finally {
      await h.close();
      await pgServer.dropDatabase(name);
    }
  });

  it('reports a server that is down as unavailable, and works again once it is back', async () => {
    const h = await fx.openDatabase();
    try {
      await createUser(h.db, { username: 'before', passwordHash: 'x', now: 1 });
      await fx.postgres!.halt();
      const whileDown = await createUser(h.db, { username: 'during', passwordHash: 'x', now: 2 }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(whileDown).not.toBeNull();
      expect(isDatabaseUnavailable(whileDown)).toBe(true);
      await fx.postgres!.resume();
      // The pool drops broken connections and opens new ones.
      expect((await createUser(h.db, { username: 'after', passwordHash: 'x', now: 3 })).ok).toBe(true);
      expect((await h.db.selectFrom('users').select('username').orderBy('id').execute()).map((u) => u.username)).toEqual(['before', 'after']);
    } finally {
      await h.dispose();
    }
  });
});
