import { describe, expect, it } from 'vitest';
import type { WireComment } from '../protocol/common.ts';
import { ChatFeed, type ReadBackComment } from './chat-feed.ts';

const comment = (id: number): WireComment => ({ id, streamId: 1, author: { id: 2, username: 'ana', role: 'viewer' }, content: `c${id}`, highlighted: false, createdAt: id });

/** A feed over a pretend database holding `stored` (ids in commit order, positions 1…). */
function feedOver(stored: { id: number; hidden?: boolean }[], start = { position: 0, lastId: 0 }) {
  const delivered: number[] = [];
  const reads: number[] = [];
  const feed = new ChatFeed({
    start,
    deliver: (comments) => delivered.push(...comments.map((c) => c.id)),
    readBack: async (afterId, limit): Promise<ReadBackComment[]> => {
      reads.push(afterId);
      return stored.filter((s) => s.id > afterId).slice(0, limit).map((s) => ({ comment: comment(s.id), hidden: s.hidden ?? false }));
    },
    onReadBackError: (err) => {
      throw err;
    },
    // Gaps are read back at once: the tests await readBack() instead of a timer.
    gapWaitMs: 60_000,
  });
  return { feed, delivered, reads };
}

describe('ChatFeed', () => {
  it('delivers positions in order whatever order the batches arrive in, each once', () => {
    const { feed, delivered } = feedOver([]);
    feed.accept(4, [comment(40), comment(50)]);
    expect(delivered).toEqual([]);
    expect(feed.held).toBe(2);
    feed.accept(1, [comment(10), comment(20)]);
    expect(delivered).toEqual([10, 20]);
    feed.accept(3, [comment(30)]);
    feed.accept(1, [comment(10), comment(20), comment(30), comment(40)]);
    expect(delivered).toEqual([10, 20, 30, 40, 50]);
    expect(feed).toMatchObject({ position: 5, lastId: 50, held: 0 });
    feed.close();
  });

  it('skips what the room had before it opened', () => {
    const { feed, delivered } = feedOver([], { position: 7, lastId: 70 });
    feed.accept(6, [comment(60), comment(70), comment(80)]);
    expect(delivered).toEqual([80]);
    feed.close();
  });

  it('reads a hole nobody fills back from the database, hidden comments counted but not shown', async () => {
    const { feed, delivered, reads } = feedOver([{ id: 11 }, { id: 12, hidden: true }, { id: 13 }, { id: 14 }]);
    feed.accept(4, [comment(14)]);
    expect(delivered).toEqual([]);
    await feed.readBack();
    expect(reads).toEqual([0]);
    expect(delivered).toEqual([11, 13, 14]);
    expect(feed).toMatchObject({ position: 4, lastId: 14, held: 0 });
    feed.close();
  });

  it('never shows a comment hidden before it came out', () => {
    const { feed, delivered } = feedOver([]);
    feed.hide([20]);
    feed.accept(1, [comment(10), comment(20), comment(30)]);
    expect(delivered).toEqual([10, 30]);
    feed.close();
  });

  it('reads back a tail the database has and no batch announced, at the second check that finds it missing', async () => {
    const { feed, delivered, reads } = feedOver([{ id: 5 }, { id: 6 }]);
    feed.accept(1, [comment(5)]);
    feed.checkStored(2);
    expect(reads).toEqual([]);
    feed.checkStored(2);
    await feed.readBack();
    expect(reads).toEqual([5]);
    expect(delivered).toEqual([5, 6]);
    feed.close();
  });
});
