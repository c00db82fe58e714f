import type { Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
// Each recording's timeline (JSON: where each joined segment started in wall-clock
// time and in the file), so the chat replay follows the video across the gaps a
// recorder restart leaves. Null: finalised before timelines were kept.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recordings').addColumn('timeline', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recordings').dropColumn('timeline').execute();
}
