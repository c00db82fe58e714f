import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatCursor, commentsAfter, insertComments, lastCommentId, recentCommentsWithRoles, softDeleteComment } from './comments.ts';
import { isForeignKeyViolation } from './dialect.ts';
import {
  addUniqueViewers,
  computeStreamStats,
  createStream,
  getStream,
  recordViewerCount,
  transitionStream,
} from './streams.ts';
import { describeEachDialect, type TempDatabase } from './testing/dialects.ts';
import { createUser } from './users.ts';

describeEachDialect('streams and comments', (fx) => {
  type Ctx = TempDatabase & { streamerId: number };
  let ctx: Ctx;

  beforeEach(async () => {
    const h = await fx.openDatabase();
    const res = await createUser(h.db, { username: 'Ana', passwordHash: 'x', now: 0 });
    if (!res.ok) throw new Error('user');
    ctx = Object.assign(h, { streamerId: res.user.id });
  });
  afterEach(() => ctx.dispose());

  describe('stream state machine', () => {
    it('goes waiting → live → ended and never back', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 1000 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      expect(created.stream.status).toBe('waiting');
      expect(await transitionStream(ctx.db, id, 'live', { now: 2000 })).toMatchObject({ ok: true, from: 'waiting' });
      expect(await transitionStream(ctx.db, id, 'live', { now: 2500 })).toEqual({ ok: false, reason: 'invalid_transition', current: 'live' });
      expect(await transitionStream(ctx.db, id, 'ended', { now: 3000, reason: 'streamer_ended' })).toMatchObject({ ok: true, from: 'live' });
      expect(await transitionStream(ctx.db, id, 'live', { now: 4000 })).toEqual({ ok: false, reason: 'invalid_transition', current: 'ended' });
      expect(await transitionStream(ctx.db, id, 'ended', { now: 4000 })).toEqual({ ok: false, reason: 'invalid_transition', current: 'ended' });
      const row = await getStream(ctx.db, id);
      expect(row).toMatchObject({ status: 'ended', started_at: 2000, ended_at: 3000, end_reason: 'streamer_ended' });
      expect(await transitionStream(ctx.db, 999, 'live', { now: 1 })).toEqual({ ok: false, reason: 'stream_not_found' });
    });

    it('allows one open stream per streamer', async () => {
      const a = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 'a', description: '', now: 1 });
      const b = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 'b', description: '', now: 2 });
      expect(a.ok).toBe(true);
      expect(b).toMatchObject({ ok: false, reason: 'stream_already_open' });
      if (!a.ok) return;
      await transitionStream(ctx.db, a.stream.id, 'ended', { now: 3 });
      expect((await createStream(ctx.db, { streamerId: ctx.streamerId, title: 'c', description: '', now: 4 })).ok).toBe(true);
    });
  });

  describe('viewer statistics', () => {
    it('computes a time-weighted average, keeps the peak and freezes at the end', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 0 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      await transitionStream(ctx.db, id, 'live', { now: 0 });
      // 0 viewers for 10 s, 4 for 20 s, 1 for 30 s, 0 for 40 s → (0·10 + 4·20 + 1·30 + 0·40) / 100 = 1.1
      await recordViewerCount(ctx.db, id, 4, 10_000);
      await recordViewerCount(ctx.db, id, 1, 30_000);
      await recordViewerCount(ctx.db, id, 0, 60_000);
      const live = computeStreamStats((await getStream(ctx.db, id))!, 100_000);
      expect(live.averageViewers).toBeCloseTo(1.1, 10);
      expect(live.peakViewers).toBe(4);
      expect(live.durationMs).toBe(100_000);

      await transitionStream(ctx.db, id, 'ended', { now: 100_000 });
      await recordViewerCount(ctx.db, id, 50, 110_000); // after the end: ignored
      const frozen = computeStreamStats((await getStream(ctx.db, id))!, 500_000);
      expect(frozen).toMatchObject({ status: 'ended', viewers: 0, peakViewers: 4, durationMs: 100_000 });
      expect(frozen.averageViewers).toBeCloseTo(1.1, 10);
    });

    it('counts unique viewers once per key', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 0 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      expect(await addUniqueViewers(ctx.db, id, ['u:1'], 1)).toBe(1);
      expect(await addUniqueViewers(ctx.db, id, ['u:1'], 2)).toBe(0);
      expect(await addUniqueViewers(ctx.db, id, ['a:x', 'u:1'], 3)).toBe(1);
      expect((await getStream(ctx.db, id))!.unique_viewers).toBe(2);
    });
  });

  describe('comments', () => {
    it('stores a batch atomically with the counter and backfills without deleted ones', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 0 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      const stored = await insertComments(
        ctx.db,
        Array.from({ length: 60 }, (_, i) => ({ streamId: id, userId: ctx.streamerId, content: `c${i}`, highlighted: false, now: i })),
      );
      expect(stored.map((c) => c.id)).toEqual([...stored.map((c) => c.id)].sort((a, b) => a - b));
      expect((await getStream(ctx.db, id))!.comments_count).toBe(60);
      expect(await softDeleteComment(ctx.db, { commentId: stored[59]!.id, streamId: id, deletedBy: ctx.streamerId, now: 99 })).toBe(true);
      expect(await softDeleteComment(ctx.db, { commentId: stored[59]!.id, streamId: id, deletedBy: ctx.streamerId, now: 99 })).toBe(false);
      const recent = await recentCommentsWithRoles(ctx.db, id, ctx.streamerId, 50);
      expect(recent).toHaveLength(50);
      expect(recent[0]!.content).toBe('c9');
      expect(recent[49]!.content).toBe('c58');
      expect(recent[0]!.username).toBe('Ana');
    });

    it('numbers the comments of a stream from 1 without holes, and reads them back after an id, hidden ones flagged', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 0 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      expect(await chatCursor(ctx.db, id)).toEqual({ position: 0, lastId: 0 });
      const row = (i: number) => ({ streamId: id, userId: ctx.streamerId, content: `c${i}`, highlighted: false, now: i });
      const first = await insertComments(ctx.db, [row(0), row(1), row(2)]);
      const second = await insertComments(ctx.db, [row(3), row(4)]);
      expect([...first, ...second].map((c) => c.position)).toEqual([1, 2, 3, 4, 5]);
      expect(await chatCursor(ctx.db, id)).toEqual({ position: 5, lastId: second[1]!.id });
      expect(await lastCommentId(ctx.db, id)).toBe(second[1]!.id);
      await softDeleteComment(ctx.db, { commentId: first[2]!.id, streamId: id, deletedBy: ctx.streamerId, now: 9 });
      const after = await commentsAfter(ctx.db, id, ctx.streamerId, first[1]!.id, 10);
      expect(after.map((c) => [c.content, c.hidden])).toEqual([['c2', true], ['c3', false], ['c4', false]]);
      expect((await commentsAfter(ctx.db, id, ctx.streamerId, 0, 2)).map((c) => c.content)).toEqual(['c0', 'c1']);
      expect((await recentCommentsWithRoles(ctx.db, id, ctx.streamerId, 50, first[2]!.id)).map((c) => c.content)).toEqual(['c0', 'c1']);
    });

    it('rolls the whole batch back when one row fails', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.streamerId, title: 't', description: '', now: 0 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      await expect(
        insertComments(ctx.db, [
          { streamId: id, userId: ctx.streamerId, content: 'ok', highlighted: false, now: 1 },
          { streamId: id, userId: 424242, content: 'bad user', highlighted: false, now: 2 },
        ]),
      ).rejects.toSatisfy(isForeignKeyViolation);
      expect((await getStream(ctx.db, id))!.comments_count).toBe(0);
      expect(await recentCommentsWithRoles(ctx.db, id, ctx.streamerId)).toEqual([]);
    });
  });
});
