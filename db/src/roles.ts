import type { Db } from './database.ts';
import type { ChannelRole } from './schema.ts';

export async function getChannelRole(db: Db, channelId: number, userId: number): Promise<ChannelRole | null> {
  const row = await db
    .selectFrom('channel_roles')
    .select('role')
    .where('channel_id', '=', channelId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

/** A user holds at most one channel role: appointing replaces the previous one. */
export async function setChannelRole(
  db: Db,
  input: { channelId: number; userId: number; role: ChannelRole; grantedBy: number; now: number },
): Promise<void> {
  await db
    .insertInto('channel_roles')
    .values({ channel_id: input.channelId, user_id: input.userId, role: input.role, granted_by: input.grantedBy, created_at: input.now })
    .onConflict((oc) => oc.columns(['channel_id', 'user_id']).doUpdateSet({ role: input.role, granted_by: input.grantedBy, created_at: input.now }))
    .execute();
}

/** Removes `role` from the user; returns false if they did not hold it. */
export async function removeChannelRole(db: Db, channelId: number, userId: number, role: ChannelRole): Promise<boolean> {
  const res = await db
    .deleteFrom('channel_roles')
    .where('channel_id', '=', channelId)
    .where('user_id', '=', userId)
    .where('role', '=', role)
    .executeTakeFirst();
  return res.numDeletedRows > 0n;
}
