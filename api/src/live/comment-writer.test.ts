import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { addRestriction, banUser, createStream, createUser, type StoredComment } from '@redred/db';
import { openTempDatabase } from '@redred/db/testing';
import { AppError } from '../errors.ts';
import { CommentWriter } from './comment-writer.ts';
import { ModerationGate, SiteGate } from './gate.ts';

type Db = Awaited<ReturnType<typeof openTempDatabase>>;

interface Outcome {
  stored?: StoredComment;
  failed?: unknown;
}

describe('CommentWriter with the moderation gate at commit', () => {
  let db: Db;
  let writer: CommentWriter;
  let streamId: number;
  let channelId: number;
  let authorId: number;
  let otherId: number;
  const now = 1_700_000_000_000;

  beforeEach(async () => {
    db = await openTempDatabase();
    const user = async (username: string) => {
      const res = await createUser(db.db, { username, passwordHash: 'x', now: now - 3_600_000 });
      if (!res.ok) throw new Error('user');
      return res.user.id;
    };
    channelId = await user('streamer');
    authorId = await user('author');
    otherId = await user('other');
    const stream = await createStream(db.db, { streamerId: channelId, title: 't', description: '', now });
    if (!stream.ok) throw new Error('stream');
    streamId = stream.stream.id;
    writer = new CommentWriter(db.db, new ModerationGate(db.db, channelId, new SiteGate(db.db, { adminUsernames: [], defaults: { registration: 'open', streaming: 'everyone' } })), pino({ level: 'silent' }));
  });
  afterEach(async () => {
    await writer.close();
    await db.dispose();
  });

  /** Holds the writer between two commits until `release()`: what is submitted meanwhile waits for the next commit. */
  function hold(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    void writer.exclusive(() => held);
    return release;
  }

  async function commentIds(): Promise<number[]> {
    const rows = await db.db.selectFrom('live_stream_comments').select('id').where('stream_id', '=', streamId).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  function submit(userId: number, content: string): Promise<Outcome> {
    return new Promise((resolve) => {
      writer.submit({ streamId, userId, content, highlighted: false, now }, { stored: (stored) => resolve({ stored }), failed: (failed) => resolve({ failed }) });
    });
  }

  it('refuses, without storing, a comment whose author was banned after it was admitted; the others of the batch commit', async () => {
    const release = hold();
    const fromAuthor = submit(authorId, 'queued before the ban');
    const fromOther = submit(otherId, 'innocent');
    await banUser(db.db, { channelId, userId: authorId, reason: 'spam', bannedBy: channelId, now });
    release();
    const [a, b] = await Promise.all([fromAuthor, fromOther]);
    expect(a.stored).toBeUndefined();
    expect(a.failed).toBeInstanceOf(AppError);
    expect((a.failed as AppError).code).toBe('banned');
    expect(b.stored?.content).toBe('innocent');
    expect(await commentIds()).toEqual([b.stored!.id]);
  });

  it('refuses a comment whose author was timed out after it was admitted, with the time left', async () => {
    const release = hold();
    const pending = submit(authorId, 'queued before the timeout');
    await addRestriction(db.db, { channelId, userId: authorId, kind: 'timeout', reason: '', createdBy: channelId, now, expiresAt: now + 60_000 });
    release();
    const outcome = await pending;
    expect((outcome.failed as AppError).code).toBe('timed_out');
    expect((outcome.failed as AppError).retryAfterSeconds).toBe(60);
    expect(await commentIds()).toEqual([]);
  });

  it('close() commits what was admitted, then refuses new comments with stream_ended', async () => {
    const release = hold();
    const admitted = submit(authorId, 'admitted before close');
    const closing = writer.close();
    release();
    await closing;
    expect((await admitted).stored?.content).toBe('admitted before close');
    const late = await submit(authorId, 'after close');
    expect((late.failed as AppError).code).toBe('stream_ended');
    expect(await commentIds()).toHaveLength(1);
  });
});
