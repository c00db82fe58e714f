import type { Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
// `streamer_seen_at`: the last time a server saw the streamer's socket connected,
// null while the streamer never connected. The sweeper's waiting rule and the
// operator CLI both read it, so they agree without talking to each other.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('live_streams').addColumn('streamer_seen_at', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('live_streams').dropColumn('streamer_seen_at').execute();
}
