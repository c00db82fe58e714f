import type { Db } from './database.ts';

export interface StreamKeyOwner {
  channelId: number;
  username: string;
}

/**
 * Sets the channel's key (first key or rotation) in one statement: the old
 * hash stops matching the moment the new one is stored.
 */
export async function setStreamKey(db: Db, channelId: number, keyHash: string, now: number): Promise<void> {
  await db
    .insertInto('stream_keys')
    .values({ channel_id: channelId, key_hash: keyHash, created_at: now })
    .onConflict((oc) => oc.column('channel_id').doUpdateSet({ key_hash: keyHash, created_at: now }))
    .execute();
}

/** The channel a key hash publishes to, with its streamer's name; undefined for unknown or rotated keys. */
export async function findStreamKeyOwner(db: Db, keyHash: string): Promise<StreamKeyOwner | undefined> {
  const row = await db
    .selectFrom('stream_keys')
    .innerJoin('users', 'users.id', 'stream_keys.channel_id')
    .select(['stream_keys.channel_id as channelId', 'users.username as username'])
    .where('stream_keys.key_hash', '=', keyHash)
    .executeTakeFirst();
  return row;
}

/** When the channel's current key was made; undefined if it has none. */
export async function streamKeyCreatedAt(db: Db, channelId: number): Promise<number | undefined> {
  const row = await db.selectFrom('stream_keys').select('created_at').where('channel_id', '=', channelId).executeTakeFirst();
  return row?.created_at;
}

/** The title and description of the channel's latest stream: a WHIP publish reuses them. */
export async function lastStreamDetails(db: Db, channelId: number): Promise<{ title: string; description: string } | undefined> {
  return db
    .selectFrom('live_streams')
    .select(['title', 'description'])
    .where('streamer_id', '=', channelId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}
