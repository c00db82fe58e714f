import { sql, type Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
// Recordings of streams (docs/recording.md): the streamer's choice per stream,
// a channel default, and one row per recorded stream with its files' state.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('live_streams')
    .addColumn('record', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('recording_settings')
    .addColumn('channel_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('record_by_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('recordings')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('stream_id', 'integer', (c) => c.notNull().unique().references('live_streams.id').onDelete('cascade'))
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('recording', 'ready', 'partial', 'failed')`))
    .addColumn('container', 'text', (c) => c.notNull())
    .addColumn('private', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'integer', (c) => c.notNull())
    .addColumn('ended_at', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('size_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('segments', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stop_reason', 'text')
    .execute();
  await db.schema.createIndex('recordings_channel').on('recordings').columns(['channel_id', 'started_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('recordings').execute();
  await db.schema.dropTable('recording_settings').execute();
  await db.schema.alterTable('live_streams').dropColumn('record').execute();
}
