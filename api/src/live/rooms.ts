import { chatCursor, getChatSettings, getStreamWithStreamer } from '@redred/db';
import { StreamRouter } from '@redred/sfu';
import { CLOSE_CODES } from '../protocol/constants.ts';
import type { LiveContext } from './context.ts';
import { StreamRoom } from './room.ts';
import { wireMediaEvents } from './signaling.ts';

/** The rooms of this process, one per stream that is not ended and has been opened. */
export class RoomRegistry {
  readonly #rooms = new Map<number, StreamRoom>();
  readonly #opening = new Map<number, Promise<StreamRoom | null>>();
  readonly #ctx: LiveContext;
  #closed = false;

  constructor(ctx: LiveContext) {
    this.#ctx = ctx;
  }

  get(streamId: number): StreamRoom | undefined {
    return this.#rooms.get(streamId);
  }

  all(): StreamRoom[] {
    return [...this.#rooms.values()];
  }

  /** The room of a stream that is not ended, created (with its router) on first use; null if none. */
  async open(streamId: number): Promise<StreamRoom | null> {
    const existing = this.#rooms.get(streamId);
    if (existing && !existing.closed) return existing;
    const pending = this.#opening.get(streamId);
    if (pending) return pending;
    const opening = this.#create(streamId).finally(() => this.#opening.delete(streamId));
    this.#opening.set(streamId, opening);
    return opening;
  }

  async #create(streamId: number): Promise<StreamRoom | null> {
    if (this.#closed) return null;
    const stream = await getStreamWithStreamer(this.#ctx.db, streamId);
    if (!stream || stream.status === 'ended') return null;
    const settings = await getChatSettings(this.#ctx.db, stream.streamer_id);
    // Read before the room subscribes: anything committed after it reaches the room by the bus, or is read back.
    const chatStart = await chatCursor(this.#ctx.db, streamId);
    const media = await StreamRouter.create(this.#ctx.pool, String(streamId));
    const room = new StreamRoom(this.#ctx, stream, media, settings, chatStart);
    wireMediaEvents(this.#ctx, room);
    room.onClose = () => {
      if (this.#rooms.get(streamId) === room) this.#rooms.delete(streamId);
    };
    this.#rooms.set(streamId, room);
    this.#ctx.recordings?.attach(room, stream.record === 1);
    // Cluster mode: the first socket already sees the origin's producers.
    await room.cluster?.start().catch((err: unknown) => this.#ctx.log.warn({ err, streamId }, 'could not read the stream origin; waiting for the next announcement'));
    return room;
  }

  /** Closes this user's sockets in every room of this process. */
  disconnectUser(userId: number, code: number, reason: string): void {
    for (const room of this.#rooms.values()) room.disconnectUser(userId, code, reason);
  }

  /**
   * The account's sessions ended (an admin signed it out, disabled or deleted
   * it): its sockets close with 4005 here at once, and on every other node
   * through the bus. A node that misses the event (Redis down) finds the
   * sessions gone when its bus resumes (reconcile.ts).
   */
  signOutEverywhere(userId: number, reason: string): void {
    this.disconnectUser(userId, CLOSE_CODES.signedOut, reason);
    try {
      this.#ctx.bus.publishSite({ kind: 'signed_out', userId, reason });
    } catch (err) {
      this.#ctx.log.warn({ err, userId }, 'sign-out not published on the bus; other nodes close the sockets when they re-check');
    }
  }

  /** Shutdown: every client is told the server is going away (1001); resolves when admitted comments are committed. */

  async closeAll(): Promise<void> {
    this.#closed = true;
    const rooms = [...this.#rooms.values()];
    this.#rooms.clear();
    for (const room of rooms) room.close(CLOSE_CODES.goingAway, 'server shutting down');
    await Promise.all(rooms.map((room) => room.drained()));
  }
}
