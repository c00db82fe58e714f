import type { Db } from './database.ts';

export async function insertSession(
  db: Db,
  input: { tokenHash: string; userId: number; now: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({ token_hash: input.tokenHash, user_id: input.userId, created_at: input.now, expires_at: input.expiresAt })
    .execute();
}

/** The session's user, if the token is known, not expired, and the account is not disabled. */
export async function findSessionUser(
  db: Db,
  tokenHash: string,
  now: number,
): Promise<{ userId: number; username: string; isAdmin: boolean; expiresAt: number } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id as userId', 'users.username as username', 'users.is_admin as isAdmin', 'sessions.expires_at as expiresAt'])
    .where('sessions.token_hash', '=', tokenHash)
    .where('sessions.expires_at', '>', now)
    // A disabled account's sessions stop working at once, even those issued before.
    .where('users.disabled_at', 'is', null)
    .executeTakeFirst();
  return row ? { ...row, isAdmin: row.isAdmin === 1 } : undefined;
}

/**
 * Which of these sessions still stand: not ended (signed out, by an admin or a
 * password reset) and their account not disabled. Expiry is not checked: a
 * socket opened with a session outlives its expiry, as on a lone node.
 */
export async function standingSessions(db: Db, tokenHashes: readonly string[]): Promise<Set<string>> {
  if (tokenHashes.length === 0) return new Set();
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select('sessions.token_hash as tokenHash')
    .where('sessions.token_hash', 'in', [...new Set(tokenHashes)])
    .where('users.disabled_at', 'is', null)
    .execute();
  return new Set(rows.map((r) => r.tokenHash));
}

export async function deleteSession(db: Db, tokenHash: string): Promise<boolean> {
  const res = await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
  return res.numDeletedRows > 0n;
}
