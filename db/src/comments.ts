import { sql } from 'kysely';
import type { Db } from './database.ts';

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

/**
 * Stores a batch of comments in ONE transaction (group commit: one fsync for
 * the batch) and bumps each stream's counter in the same transaction, so the
 * count never disagrees with the rows. Returns the stored rows in input order;
 * ids increase in that order, which is the broadcast order.
 */
export async function insertComments(db: Db, batch: readonly NewCommentInput[]): Promise<StoredComment[]> {
  if (batch.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const stored: StoredComment[] = [];
    const perStream = new Map<number, number>();
    for (const c of batch) {
      const row = await trx
        .insertInto('live_stream_comments')
        .values({ stream_id: c.streamId, user_id: c.userId, content: c.content, highlighted: c.highlighted ? 1 : 0, created_at: c.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      stored.push({ id: row.id, streamId: c.streamId, userId: c.userId, content: c.content, highlighted: c.highlighted, createdAt: c.now });
      perStream.set(c.streamId, (perStream.get(c.streamId) ?? 0) + 1);
    }
    for (const [streamId, n] of perStream) {
      await trx
        .updateTable('live_streams')
        .set({ comments_count: sql<number>`comments_count + ${n}`, last_activity_at: batch[batch.length - 1]!.now })
        .where('id', '=', streamId)
        .execute();
    }
    return stored;
  });
}

export interface CommentView extends StoredComment {
  username: string;
}

/** The last `limit` visible comments of a stream, oldest first (history backfill). */
export async function recentComments(db: Db, streamId: number, limit = 50): Promise<CommentView[]> {
  const rows = await db
    .selectFrom('live_stream_comments as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select(['c.id', 'c.stream_id', 'c.user_id', 'c.content', 'c.highlighted', 'c.created_at', 'u.username'])
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
  }));
}

export async function getComment(db: Db, id: number) {
  return db.selectFrom('live_stream_comments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCommentIds(db: Db, streamId: number): Promise<number[]> {
  const rows = await db.selectFrom('live_stream_comments').select('id').where('stream_id', '=', streamId).orderBy('id').execute();
  return rows.map((r) => r.id);
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
