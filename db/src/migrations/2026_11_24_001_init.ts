import { sql, type Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('live_streams')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('streamer_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('waiting').check(sql`status in ('waiting', 'live', 'ended')`),
    )
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'integer')
    .addColumn('ended_at', 'integer')
    .addColumn('end_reason', 'text')
    .addColumn('viewers_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('peak_viewers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('comments_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unique_viewers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('viewer_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('viewers_changed_at', 'integer')
    .addColumn('last_activity_at', 'integer', (c) => c.notNull())
    .addColumn('last_viewer_at', 'integer')
    .execute();
  await db.schema.createIndex('live_streams_status').on('live_streams').columns(['status', 'started_at']).execute();
  // One streamer has at most one stream that is not ended: the database enforces it too.
  await sql`create unique index live_streams_one_open_per_streamer on live_streams (streamer_id) where status != 'ended'`.execute(db);

  await db.schema
    .createTable('live_stream_comments')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('stream_id', 'integer', (c) => c.notNull().references('live_streams.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('highlighted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('deleted_at', 'integer')
    .addColumn('deleted_by', 'integer', (c) => c.references('users.id'))
    .execute();
  await db.schema.createIndex('comments_stream_id').on('live_stream_comments').columns(['stream_id', 'id']).execute();

  await db.schema
    .createTable('channel_roles')
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('moderator', 'vip')`))
    .addColumn('granted_by', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_roles_pk', ['channel_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('channel_bans')
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('banned_by', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_bans_pk', ['channel_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('channel_restrictions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('timeout', 'kick')`))
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .addColumn('lifted_at', 'integer')
    .execute();
  await db.schema
    .createIndex('channel_restrictions_lookup')
    .on('channel_restrictions')
    .columns(['channel_id', 'user_id', 'kind', 'expires_at'])
    .execute();

  await db.schema
    .createTable('chat_settings')
    .addColumn('channel_id', 'integer', (c) => c.primaryKey().references('users.id'))
    .addColumn('slow_mode_seconds', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('blocked_words', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('accounts_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('moderation_log')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('stream_id', 'integer', (c) => c.references('live_streams.id').onDelete('set null'))
    .addColumn('actor_id', 'integer', (c) => c.references('users.id'))
    .addColumn('target_user_id', 'integer', (c) => c.references('users.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('moderation_log_channel').on('moderation_log').columns(['channel_id', 'id']).execute();

  await db.schema
    .createTable('viewer_samples')
    .addColumn('stream_id', 'integer', (c) => c.notNull().references('live_streams.id').onDelete('cascade'))
    .addColumn('at', 'integer', (c) => c.notNull())
    .addColumn('viewers', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('viewer_samples_pk', ['stream_id', 'at'])
    .execute();

  await db.schema
    .createTable('stream_viewers')
    .addColumn('stream_id', 'integer', (c) => c.notNull().references('live_streams.id').onDelete('cascade'))
    .addColumn('viewer_key', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_viewers_pk', ['stream_id', 'viewer_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'stream_viewers',
    'viewer_samples',
    'moderation_log',
    'chat_settings',
    'channel_restrictions',
    'channel_bans',
    'channel_roles',
    'live_stream_comments',
    'live_streams',
    'sessions',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
