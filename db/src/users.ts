import type { Db } from './database.ts';
import { isUniqueViolation } from './dialect.ts';
import type { User } from './schema.ts';

export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

export type CreateUserResult = { ok: true; user: User } | { ok: false; reason: 'username_taken' };

export async function createUser(db: Db, input: { username: string; passwordHash: string; now: number }): Promise<CreateUserResult> {
  const existing = await findUserByUsername(db, input.username);
  if (existing) return { ok: false, reason: 'username_taken' };
  try {
    const user = await db
      .insertInto('users')
      .values({
        username: input.username,
        username_key: usernameKey(input.username),
        password_hash: input.passwordHash,
        created_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, user };
  } catch (err) {
    // Two registrations racing for one name: the unique index decides.
    // Two registrations racing for one name: the unique index (username_key, the table's only unique column) decides.
    if (isUniqueViolation(err)) {
      return { ok: false, reason: 'username_taken' };
    }
    throw err;
  }
}

export async function findUserByUsername(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username_key', '=', usernameKey(username)).executeTakeFirst();
}

export async function findUserById(db: Db, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}
