import type { Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
// One stream key per channel (a channel is its streamer's account). Only the
// key's SHA-256 is stored: a leaked database does not let anyone go live.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('stream_keys')
    .addColumn('channel_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stream_keys').execute();
}
