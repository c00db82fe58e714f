import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { ChannelRole } from './schema.ts';

export interface NewCommentInput {
  streamId: number;
  userId: number;
  content: string;
  highlighted: boolean;
  now: number;
}

export interface StoredComment {
  id: number;
  streamId: number;
  userId: number;
  content: string;
  highlighted: boolean;
  createdAt: number;
}

/** Rows per INSERT statement: far below SQLite's bound-variable limit (6 per row). */
const INSERT_CHUNK_ROWS = 500;

/**
 * Stores a batch of comments in ONE transaction (group commit: one fsync for
 * the batch) and bumps each stream's counter in the same transaction, so the
 * count never disagrees with the rows. Returns the stored rows in input order;
 * ids increase in that order, which is the broadcast order.
 */
export async function insertComments(db: Db, batch: readonly NewCommentInput[]): Promise<StoredComment[]> {
  if (batch.length === 0) return [];
  return db.transaction().execute((trx) => storeComments(trx, batch));
}

/** `insertComments` inside the caller's transaction (the chat writer checks restrictions in the same one). */
export async function storeComments(trx: Db, batch: readonly NewCommentInput[]): Promise<StoredComment[]> {
  if (batch.length === 0) return [];
  const stored: StoredComment[] = [];
  const perStream = new Map<number, number>();
  for (let start = 0; start < batch.length; start += INSERT_CHUNK_ROWS) {
    const chunk = batch.slice(start, start + INSERT_CHUNK_ROWS);
    const rows = await trx
      .insertInto('live_stream_comments')
      .values(chunk.map((c) => ({ stream_id: c.streamId, user_id: c.userId, content: c.content, highlighted: c.highlighted ? 1 : 0, created_at: c.now })))
      .returning('id')
      .execute();
    // One multi-row INSERT assigns ascending ids in VALUES order; RETURNING
    // promises no order, so sort before pairing ids with inputs.
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    chunk.forEach((c, i) => {
      stored.push({ id: ids[i]!, streamId: c.streamId, userId: c.userId, content: c.content, highlighted: c.highlighted, createdAt: c.now });
      perStream.set(c.streamId, (perStream.get(c.streamId) ?? 0) + 1);
    });
  }
  for (const [streamId, n] of perStream) {
    await trx
      .updateTable('live_streams')
      .set({ comments_count: sql<number>`comments_count + ${n}`, last_activity_at: batch[batch.length - 1]!.now })
      .where('id', '=', streamId)
      .execute();
  }
  return stored;
}

export interface CommentView extends StoredComment {
  username: string;
}

export interface CommentWithRole extends CommentView {
  /** The author's role on the channel now (not when they wrote); null for plain viewers and the streamer. */
  channelRole: ChannelRole | null;
}

/** History backfill in one query: the last `limit` visible comments, oldest first, with their authors' channel roles. */
export async function recentCommentsWithRoles(db: Db, streamId: number, channelId: number, limit = 50): Promise<CommentWithRole[]> {
  const rows = await db
    .selectFrom('live_stream_comments as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .leftJoin('channel_roles as r', (join) => join.onRef('r.user_id', '=', 'c.user_id').on('r.channel_id', '=', channelId))
    .select(['c.id', 'c.stream_id', 'c.user_id', 'c.content', 'c.highlighted', 'c.created_at', 'u.username', 'r.role'])
    .where('c.stream_id', '=', streamId)
    .where('c.deleted_at', 'is', null)
    .orderBy('c.id', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse().map((r) => ({
    id: r.id,
    streamId: r.stream_id,
    userId: r.user_id,
    content: r.content,
    highlighted: r.highlighted === 1,
    createdAt: r.created_at,
    username: r.username,
    channelRole: r.role,
  }));
}

export async function getComment(db: Db, id: number) {
  return db.selectFrom('live_stream_comments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Soft-deletes a comment of the given stream; false if absent or already deleted. */
export async function softDeleteComment(db: Db, input: { commentId: number; streamId: number; deletedBy: number; now: number }): Promise<boolean> {
  const res = await db
    .updateTable('live_stream_comments')
    .set({ deleted_at: input.now, deleted_by: input.deletedBy })
    .where('id', '=', input.commentId)
    .where('stream_id', '=', input.streamId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Soft-deletes every visible comment of a user on a stream (a ban hides what they said); returns the ids, ascending. */
export async function softDeleteCommentsOfUser(db: Db, input: { streamId: number; userId: number; deletedBy: number; now: number }): Promise<number[]> {
  const rows = await db
    .updateTable('live_stream_comments')
    .set({ deleted_at: input.now, deleted_by: input.deletedBy })
    .where('stream_id', '=', input.streamId)
    .where('user_id', '=', input.userId)
    .where('deleted_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
