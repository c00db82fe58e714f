import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from './dialect.ts';
import { createStream, updateStreamDetails, transitionStream } from './streams.ts';
import { findStreamKeyOwner, lastStreamDetails, setStreamKey, streamKeyCreatedAt } from './stream-keys.ts';
import { describeEachDialect, type TempDatabase } from './testing/dialects.ts';
import { createUser } from './users.ts';

describeEachDialect('stream keys and stream details (WHIP publishing)', (fx) => {
  type Ctx = TempDatabase & { ana: number; bob: number };
  let ctx: Ctx;

  beforeEach(async () => {
    const h = await fx.openDatabase();
    const ana = await createUser(h.db, { username: 'Ana', passwordHash: 'x', now: 0 });
    const bob = await createUser(h.db, { username: 'Bob', passwordHash: 'x', now: 0 });
    if (!ana.ok || !bob.ok) throw new Error('users');
    ctx = Object.assign(h, { ana: ana.user.id, bob: bob.user.id });
  });
  afterEach(() => ctx.dispose());

  describe('stream keys', () => {
    it('maps a key hash to its channel, and a rotation retires the old hash at once', async () => {
      expect(await streamKeyCreatedAt(ctx.db, ctx.ana)).toBeUndefined();
      await setStreamKey(ctx.db, ctx.ana, 'hash-1', 100);
      await setStreamKey(ctx.db, ctx.bob, 'hash-b', 100);
      expect(await findStreamKeyOwner(ctx.db, 'hash-1')).toEqual({ channelId: ctx.ana, username: 'Ana' });
      await setStreamKey(ctx.db, ctx.ana, 'hash-2', 200);
      expect(await findStreamKeyOwner(ctx.db, 'hash-1')).toBeUndefined();
      expect(await findStreamKeyOwner(ctx.db, 'hash-2')).toEqual({ channelId: ctx.ana, username: 'Ana' });
      expect(await findStreamKeyOwner(ctx.db, 'hash-b')).toEqual({ channelId: ctx.bob, username: 'Bob' });
      expect(await streamKeyCreatedAt(ctx.db, ctx.ana)).toBe(200);
    });

    it('refuses one hash for two channels', async () => {
      await setStreamKey(ctx.db, ctx.ana, 'same', 1);
      const err = await setStreamKey(ctx.db, ctx.bob, 'same', 1).then(() => null, (e: unknown) => e);
      expect(isUniqueViolation(err)).toBe(true);
    });
  });

  describe('stream details', () => {
    it("gives the channel's latest stream details for a WHIP publish", async () => {
      expect(await lastStreamDetails(ctx.db, ctx.ana)).toBeUndefined();
      await createStream(ctx.db, { streamerId: ctx.ana, title: 'Morning coffee', description: 'beans', now: 1 });
      expect(await lastStreamDetails(ctx.db, ctx.ana)).toEqual({ title: 'Morning coffee', description: 'beans' });
    });

    it('edits the title and description until the stream ends', async () => {
      const created = await createStream(ctx.db, { streamerId: ctx.ana, title: 'a', description: '', now: 1 });
      if (!created.ok) throw new Error('create');
      const id = created.stream.id;
      expect(await updateStreamDetails(ctx.db, id, { title: 'b' })).toMatchObject({ title: 'b', description: '' });
      expect(await updateStreamDetails(ctx.db, id, { description: 'd' })).toMatchObject({ title: 'b', description: 'd' });
      await transitionStream(ctx.db, id, 'ended', { now: 2 });
      expect(await updateStreamDetails(ctx.db, id, { title: 'c' })).toBeUndefined();
    });
  });
});
