import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoomBus, RoomEnvelope, RoomEvent } from './bus.ts';

/**
 * The RoomBus contract, run against each implementation (the in-process bus;
 * the Redis bus of cluster mode): `describeRoomBus('name', makeBus)`.
 * `settle(bus)` resolves once what was published so far has been delivered by
 * `bus` (a no-op for a synchronous bus). `peerOf(bus)` is another node on the
 * same backbone; for the in-process bus, one process is the only node: itself.
 */
export function describeRoomBus(
  name: string,
  makeBus: (onHandlerError: (err: unknown) => void) => Promise<RoomBus> | RoomBus,
  settle: (bus: RoomBus) => Promise<void> = async () => {},
  peerOf: (bus: RoomBus, onHandlerError: (err: unknown) => void) => Promise<RoomBus> | RoomBus = (bus) => bus,
): void {
  describe(`RoomBus contract: ${name}`, () => {
    let bus: RoomBus;
    let handlerErrors: unknown[];
    let peers: RoomBus[];

    beforeEach(async () => {
      handlerErrors = [];
      peers = [];
      bus = await makeBus((err) => handlerErrors.push(err));
    });
    afterEach(() => {
      for (const peer of peers) peer.close();
      bus.close();
    });

    const comment = (n: number): RoomEvent => ({
      kind: 'message',
      audience: { to: 'chat' },
      message: { type: 'comment', comment: { id: n, streamId: 1, author: { id: 2, username: 'ana', role: 'viewer' }, content: `c${n}`, highlighted: false, createdAt: 1000 + n } },
    });

    it('delivers every event of a stream to every subscriber once, in publish order, seq counting from 1', async () => {
      const a: RoomEnvelope[] = [];
      const b: RoomEnvelope[] = [];
      bus.subscribe(1, (e) => a.push(e));
      bus.subscribe(1, (e) => b.push(e));
      for (let i = 1; i <= 50; i++) bus.publish(1, comment(i));
      await settle(bus);
      expect(a.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(b).toEqual(a);
      expect(a.map((e) => (e.event.kind === 'message' && e.event.message.type === 'comment' ? e.event.message.comment.id : 0))).toEqual(a.map((e) => e.seq));
    });

    it('keeps streams apart: a subscriber hears only its own stream', async () => {
      const one: RoomEnvelope[] = [];
      const two: RoomEnvelope[] = [];
      bus.subscribe(1, (e) => one.push(e));
      bus.subscribe(2, (e) => two.push(e));
      bus.publish(1, comment(1));
      bus.publish(2, { kind: 'stream_live', startedAt: 5 });
      bus.publish(1, comment(2));
      await settle(bus);
      expect(one.map((e) => [e.streamId, e.seq])).toEqual([[1, 1], [1, 2]]);
      expect(two.map((e) => [e.streamId, e.seq, e.event.kind])).toEqual([[2, 1, 'stream_live']]);
    });

    it('carries plain data: an event survives a JSON round trip unchanged', async () => {
      const got: RoomEnvelope[] = [];
      bus.subscribe(7, (e) => got.push(e));
      const events: RoomEvent[] = [
        comment(3),
        { kind: 'restricted', restriction: 'ban', user: { id: 4, username: 'eve' }, reason: 'spam', until: null },
        { kind: 'media_reset', reason: 'worker_died', scope: 'viewers', connectionIds: ['c1', 'c2'] },
        { kind: 'chat_settings', settings: { slowModeSeconds: 5, blockedWords: ['x'], accountsOnly: true } },
      ];
      for (const e of events) bus.publish(7, e);
      await settle(bus);
      expect(got.map((e) => e.event)).toEqual(events);
      expect(JSON.parse(JSON.stringify(got))).toEqual(got);
    });

    it('stops delivering to a closed subscription, idempotently, and keeps the others', async () => {
      const a: number[] = [];
      const b: number[] = [];
      const sub = bus.subscribe(1, (e) => a.push(e.seq));
      bus.subscribe(1, (e) => b.push(e.seq));
      bus.publish(1, comment(1));
      await settle(bus);
      sub.close();
      sub.close();
      bus.publish(1, comment(2));
      await settle(bus);
      expect(a).toEqual([1]);
      expect(b).toEqual([1, 2]);
    });

    it('reports a throwing handler and still delivers to the others', async () => {
      const b: number[] = [];
      bus.subscribe(1, () => {
        throw new Error('listener bug');
      });
      bus.subscribe(1, (e) => b.push(e.seq));
      bus.publish(1, comment(1));
      bus.publish(1, comment(2));
      await settle(bus);
      expect(b).toEqual([1, 2]);
      expect(handlerErrors).toHaveLength(2);
    });

    it('gives every node one order: events published on two nodes reach the subscribers of both in the same sequence', async () => {
      const peer = await peerOf(bus, (err) => handlerErrors.push(err));
      peers.push(peer);
      const here: RoomEnvelope[] = [];
      const there: RoomEnvelope[] = [];
      bus.subscribe(3, (e) => here.push(e));
      peer.subscribe(3, (e) => there.push(e));
      // Both subscriptions in place before either node publishes.
      await settle(bus);
      await settle(peer);
      for (let i = 1; i <= 40; i++) (i % 2 === 1 ? bus : peer).publish(3, comment(i));
      await settle(bus);
      await settle(peer);
      await settle(bus);
      expect(here.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(there).toEqual(here);
      // Each node's own events keep the order it published them in.
      const ids = here.map((e) => (e.event.kind === 'message' && e.event.message.type === 'comment' ? e.event.message.comment.id : 0));
      const odd = ids.filter((id) => id % 2 === 1);
      const even = ids.filter((id) => id % 2 === 0);
      expect(odd).toEqual([...odd].sort((a, b) => a - b));
      expect(even).toEqual([...even].sort((a, b) => a - b));
      expect(handlerErrors).toEqual([]);
    });

    it('delivers site events to every site subscriber on every node, and none after its subscription closed', async () => {
      const peer = await peerOf(bus, (err) => handlerErrors.push(err));
      peers.push(peer);
      const here: unknown[] = [];
      const there: unknown[] = [];
      const gone: unknown[] = [];
      bus.subscribeSite((e) => here.push(e));
      peer.subscribeSite((e) => there.push(e));
      const closed = bus.subscribeSite((e) => gone.push(e));
      closed.close();
      closed.close();
      await settle(bus);
      await settle(peer);
      peer.publishSite({ kind: 'signed_out', userId: 7, reason: 'signed out' });
      await settle(peer);
      await settle(bus);
      expect(here).toEqual([{ kind: 'signed_out', userId: 7, reason: 'signed out' }]);
      expect(there).toEqual(here);
      expect(gone).toEqual([]);
    });

    it('refuses publish and subscribe after close, and close is idempotent', () => {
      const got: number[] = [];
      bus.subscribe(1, (e) => got.push(e.seq));
      bus.close();
      bus.close();
      expect(bus.closed).toBe(true);
      expect(() => bus.publish(1, comment(1))).toThrow(/closed/);
      expect(() => bus.subscribe(1, () => {})).toThrow(/closed/);
      expect(() => bus.publishSite({ kind: 'signed_out', userId: 1, reason: 'x' })).toThrow(/closed/);
      expect(() => bus.subscribeSite(() => {})).toThrow(/closed/);
      expect(got).toEqual([]);
    });
  });
}
