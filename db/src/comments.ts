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
  /**
   * Its place in the stream's chat, from 1, with no holes: the stream's
   * `comments_count` once it was stored. Comments of one channel commit one
   * at a time (the writer holds `serializeChannelWrites`), so position and id
   * grow together, and a reader missing position n knows it misses exactly one.
   */
  position: number;
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
  const perStream = new Map<number, StoredComment[]>();
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
      const comment = { id: ids[i]!, position: 0, streamId: c.streamId, userId: c.userId, content: c.content, highlighted: c.highlighted, createdAt: c.now };
      stored.push(comment);
      const ofStream = perStream.get(c.streamId) ?? [];
      ofStream.push(comment);
      perStream.set(c.streamId, ofStream);
    });
  }
  for (const [streamId, comments] of perStream) {
    const row = await trx
      .updateTable('live_streams')
      .set({ comments_count: sql<number>`comments_count + ${comments.length}`, last_activity_at: batch[batch.length - 1]!.now })
      .where('id', '=', streamId)
      .returning('comments_count')
      .executeTakeFirst();
    // No row: the insert above already failed on the foreign key.
    const last = row?.comments_count ?? comments.length;
    comments.forEach((comment, i) => (comment.position = last - comments.length + 1 + i));
  }
  return stored;
}

export interface CommentView extends Omit<StoredComment, 'position'> {
  username: string;
}

export interface CommentWithRole extends CommentView {
  /** The author's role on the channel now (not when they wrote); null for plain viewers and the streamer. */
  channelRole: ChannelRole | null;
}

const commentsWithRoles = (db: Db, streamId: number, channelId: number) =>
  db
    .selectFrom('live_stream_comments as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .leftJoin('channel_roles as r', (join) => join.onRef('r.user_id', '=', 'c.user_id').on('r.channel_id', '=', channelId))
    .select(['c.id', 'c.stream_id', 'c.user_id', 'c.content', 'c.highlighted', 'c.created_at', 'c.deleted_at', 'u.username', 'r.role'])
    .where('c.stream_id', '=', streamId);

type CommentRoleRow = { id: number; stream_id: number; user_id: number; content: string; highlighted: number; created_at: number; username: string; role: ChannelRole | null };

const toCommentWithRole = (r: CommentRoleRow): CommentWithRole => ({
  id: r.id,
  streamId: r.stream_id,
  userId: r.user_id,
  content: r.content,
  highlighted: r.highlighted === 1,
  createdAt: r.created_at,
  username: r.username,
  channelRole: r.role,
});

/**
 * History backfill in one query: the last `limit` visible comments, oldest
 * first, with their authors' channel roles; only those up to `upToId` when given.
 */
export async function recentCommentsWithRoles(db: Db, streamId: number, channelId: number, limit = 50, upToId?: number): Promise<CommentWithRole[]> {
  let query = commentsWithRoles(db, streamId, channelId).where('c.deleted_at', 'is', null);
  if (upToId !== undefined) query = query.where('c.id', '<=', upToId);
  const rows = await query.orderBy('c.id', 'desc').limit(limit).execute();
  return rows.reverse().map(toCommentWithRole);
}

/** The id of the stream's last stored comment (hidden ones included); 0 when there is none. */
export async function lastCommentId(db: Db, streamId: number): Promise<number> {
  const row = await db
    .selectFrom('live_stream_comments')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('stream_id', '=', streamId)
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/**
 * The stream's comments after `afterId`, oldest first, hidden ones included
 * (flagged): a reader that missed some reads them back in order and counts
 * every one of them, as positions do.
 */
export async function commentsAfter(db: Db, streamId: number, channelId: number, afterId: number, limit: number): Promise<(CommentWithRole & { hidden: boolean })[]> {
  const rows = await commentsWithRoles(db, streamId, channelId).where('c.id', '>', afterId).orderBy('c.id', 'asc').limit(limit).execute();
  return rows.map((r) => ({ ...toCommentWithRole(r), hidden: r.deleted_at !== null }));
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

/**
 * Where the stream's chat stands now, in one statement (one snapshot on
 * PostgreSQL too): its comment count, which is the last comment's position,
 * and that comment's id. (0, 0) for a stream without comments or row.
 */
export async function chatCursor(db: Db, streamId: number): Promise<{ position: number; lastId: number }> {
  const row = await db
    .selectFrom('live_streams as s')
    .select((eb) => [
      's.comments_count',
      eb
        .selectFrom('live_stream_comments as c')
        .select((inner) => inner.fn.max('c.id').as('m'))
        .whereRef('c.stream_id', '=', 's.id')
        .as('last_id'),
    ])
    .where('s.id', '=', streamId)
    .executeTakeFirst();
  return { position: row?.comments_count ?? 0, lastId: Number(row?.last_id ?? 0) };
}
