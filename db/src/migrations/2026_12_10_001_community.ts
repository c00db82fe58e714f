import type { Kysely } from 'kysely';

// Migrations never change once landed and never import app code.
// Running a site for a community (issue 18): site admins, disabled and deleted
// accounts, approved streamers, the admin audit log, password-reset links,
// invite codes and the site settings an admin can change at run time.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('may_stream', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('disabled_at', 'integer').execute();
  await db.schema.alterTable('users').addColumn('deleted_at', 'integer').execute();

  await db.schema
    .createTable('admin_log')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('actor_id', 'integer', (c) => c.references('users.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_user_id', 'integer', (c) => c.references('users.id'))
    .addColumn('target_stream_id', 'integer', (c) => c.references('live_streams.id').onDelete('set null'))
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('admin_log_by_time').on('admin_log').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('password_resets')
    .addColumn('token_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_by', 'integer', (c) => c.references('users.id'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .addColumn('used_at', 'integer')
    .execute();

  await db.schema
    .createTable('invites')
    .addColumn('code_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('created_by', 'integer', (c) => c.references('users.id'))
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'integer', (c) => c.notNull())
    .addColumn('used_by', 'integer', (c) => c.references('users.id'))
    .addColumn('used_at', 'integer')
    .execute();

  await db.schema
    .createTable('site_settings')
    .addColumn('name', 'text', (c) => c.primaryKey().notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'integer', (c) => c.references('users.id'))
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['site_settings', 'invites', 'password_resets', 'admin_log']) await db.schema.dropTable(table).execute();
  for (const column of ['deleted_at', 'disabled_at', 'may_stream', 'is_admin']) await db.schema.alterTable('users').dropColumn(column).execute();
}
