import type { FastifyBaseLogger } from 'fastify';
import { getStreamStatuses } from '@redred/db';
import { CLOSE_CODES } from '../protocol/constants.ts';
import type { LiveContext } from './context.ts';
import { closeEndedRoom } from './lifecycle.ts';
import type { StreamRoom } from './room.ts';
import type { RoomRegistry } from './rooms.ts';
import { END_REASONS } from './stream-rules.ts';

/** What one re-check changed: for logs and tests. */
export interface ReconcileOutcome {
  streamId: number;
  /** The stream was found ended (or gone): the room closed with 4004. */
  ended: string | null;
  /** Users found banned or kicked: their sockets here closed with 4003 / 4001. */
  excluded: number[];
  /** Sockets whose session had ended (admin logout, account disabled or deleted): closed with 4005. */
  signedOut: number;
}

/**
 * Brings one room of this node in line with what is durable, for when the
 * room bus may have lost events (Redis unreachable, a gap in the stream's
 * sequence, this node's own publish failed). The live path closes sockets on
 * events; a lost event leaves a socket open that the database already
 * refuses. This does what the event would have: the stream ended → every
 * socket hears `stream_ended` and closes (4004); a ban or kick → everyone
 * hears it and the user's sockets close (4003 / 4001); a session ended → its
 * sockets close (4005). Comments committed meanwhile are read back, in order.
 */
export async function reconcileRoom(ctx: LiveContext, room: StreamRoom): Promise<ReconcileOutcome> {
  const outcome: ReconcileOutcome = { streamId: room.streamId, ended: null, excluded: [], signedOut: 0 };
  const [row] = await getStreamStatuses(ctx.db, [room.streamId]);
  const now = ctx.now();
  if (room.closed) return outcome;
  if (!row || row.status === 'ended') {
    outcome.ended = row ? (row.end_reason ?? 'ended') : END_REASONS.streamGone;
    closeEndedRoom(room, outcome.ended, row?.ended_at ?? now);
    return outcome;
  }
  const accounts = room.accounts();
  const sockets = [...room.connections()].filter((c) => c.sessionTokenHash !== null && !c.closed);
  const [exclusions, standing] = await Promise.all([
    room.gate.exclusions([...accounts.keys()], now),
    ctx.site.standingSessions(sockets.map((c) => c.sessionTokenHash!)),
  ]);
  if (room.closed) return outcome;
  for (const [userId, exclusion] of exclusions) {
    room.applyRestriction({ kind: 'restricted', restriction: exclusion.kind, user: { id: userId, username: accounts.get(userId) ?? '' }, reason: exclusion.reason, until: exclusion.until });
    outcome.excluded.push(userId);
  }
  for (const c of sockets) {
    if (c.closed || standing.has(c.sessionTokenHash!)) continue;
    c.close(CLOSE_CODES.signedOut, 'signed out');
    outcome.signedOut++;
  }
  void room.chat.feed.readBack();
  return outcome;
}

/**
 * Runs the re-checks of this node's rooms, one at a time per room: a request
 * arriving while that room's check runs makes it run once more after, since
 * the running one may have read the database before the change it is about.
 */
export class RoomReconciler {
  readonly #ctx: LiveContext;
  readonly #rooms: RoomRegistry;
  readonly #log: FastifyBaseLogger;
  readonly #running = new Map<StreamRoom, { again: boolean; done: Promise<void> }>();

  constructor(ctx: LiveContext, rooms: RoomRegistry) {
    this.#ctx = ctx;
    this.#rooms = rooms;
    this.#log = ctx.log.child({ module: 'reconcile' });
  }

  /** Every room of this node (the bus reconnected). */
  async all(why: string): Promise<void> {
    await Promise.all(this.#rooms.all().map((room) => this.room(room, why)));
  }

  /** The room of this stream, if this node carries it. */
  async stream(streamId: number, why: string): Promise<void> {
    const room = this.#rooms.get(streamId);
    if (room) await this.room(room, why);
  }

  room(room: StreamRoom, why: string): Promise<void> {
    const running = this.#running.get(room);
    if (running) {
      running.again = true;
      return running.done;
    }
    const state = { again: true, done: Promise.resolve() };
    this.#running.set(room, state);
    state.done = (async () => {
      try {
        while (state.again && !room.closed) {
          state.again = false;
          try {
            const outcome = await reconcileRoom(this.#ctx, room);
            if (outcome.ended !== null || outcome.excluded.length > 0 || outcome.signedOut > 0) this.#log.info({ ...outcome, why }, 'room re-checked against the database after lost bus events');
          } catch (err) {
            this.#log.warn({ err, streamId: room.streamId, why }, 'room re-check failed; the next bus resume or gap tries again');
          }
        }
      } finally {
        this.#running.delete(room);
      }
    })();
    return state.done;
  }
}
