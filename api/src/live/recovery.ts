import type { FastifyBaseLogger } from 'fastify';
import { lastSignOfLife, listStreamsByStatus, recordViewerCount, transitionStream } from '@redred/db';
import type { LiveContext } from './context.ts';
import { closeEndedRoom } from './lifecycle.ts';
import type { RoomRegistry } from './rooms.ts';
import { END_REASONS } from './stream-rules.ts';

export type RecoveryAction =
  | { action: 'resumed'; streamId: number }
  | { action: 'ended'; streamId: number; reason: typeof END_REASONS.serverRestart; endedAt: number };

export interface RestartRecoveryOptions {
  ctx: LiveContext;
  rooms: RoomRegistry;
  /** How long a stream that was live before the restart waits for its streamer to republish; 0 ends it at startup. */
  graceMs: number;
  log: FastifyBaseLogger;
}

/**
 * Crash recovery (docs/operations.md): a process that just started carries no
 * media, so every stream the database still calls `live` was cut off by the
 * restart. Each one gets `graceMs` for its streamer to reconnect and publish
 * video again; a stream that has not is ended with `server_restart`, at its last
 * sign of life before the restart, so its duration and statistics stop there.
 */
export class RestartRecovery {
  readonly #ctx: LiveContext;
  readonly #rooms: RoomRegistry;
  readonly #graceMs: number;
  readonly #log: FastifyBaseLogger;
  /** Stream id → last sign of life before the restart. */
  readonly #pending = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #settling: Promise<RecoveryAction[]> | null = null;
  #stopped = false;

  constructor({ ctx, rooms, graceMs, log }: RestartRecoveryOptions) {
    this.#ctx = ctx;
    this.#rooms = rooms;
    this.#graceMs = graceMs;
    this.#log = log;
  }

  /** The streams still waiting for their streamer to come back. */
  get pending(): number[] {
    return [...this.#pending.keys()];
  }

  /**
   * At startup: finds the streams cut off by the restart and starts their grace
   * period (with `graceMs` 0 they are ended before this returns). Returns their ids.
   */
  async begin(): Promise<number[]> {
    const db = this.#ctx.db;
    for (const stream of await listStreamsByStatus(db, ['live'])) {
      const lastAlive = (await lastSignOfLife(db, stream.id)) ?? this.#ctx.now();
      // Nobody watched through a dead process: the stored audience stops at the crash.
      await recordViewerCount(db, stream.id, 0, lastAlive);
      this.#pending.set(stream.id, lastAlive);
    }
    const ids = this.pending;
    if (ids.length === 0) return ids;
    this.#log.warn({ streams: ids, graceMs: this.#graceMs }, 'streams were live when the server stopped: waiting for their streamers to republish');
    if (this.#graceMs === 0) {
      await this.settle();
    } else {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.settle().catch((err: unknown) => this.#log.error({ err }, 'restart recovery failed'));
      }, this.#graceMs);
      this.#timer.unref();
    }
    return ids;
  }

  /** The end of the grace period: keeps the streams whose streamer publishes video again, ends the rest. Runs once. */
  settle(): Promise<RecoveryAction[]> {
    this.#settling ??= this.#settle();
    return this.#settling;
  }

  /** Shutdown: the grace period ends with the process; the next start begins a new one. Idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #settle(): Promise<RecoveryAction[]> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const actions: RecoveryAction[] = [];
    for (const [streamId, lastAlive] of this.#pending) {
      if (this.#stopped) break;
      this.#pending.delete(streamId);
      const room = this.#rooms.get(streamId);
      if (room && !room.closed && room.media.getProducers().some((p) => p.kind === 'video')) {
        this.#log.info({ streamId }, 'stream resumed after the restart');
        actions.push({ action: 'resumed', streamId });
        continue;
      }
      const reason = END_REASONS.serverRestart;
      const res = await transitionStream(this.#ctx.db, streamId, 'ended', { now: lastAlive, reason });
      // Already ended (the streamer, the sweeper or the CLI got there first): their end stands.
      if (!res.ok) continue;
      const endedAt = res.stream.ended_at ?? lastAlive;
      if (room) closeEndedRoom(room, reason, endedAt);
      this.#log.info({ streamId, reason, endedAt }, 'stream ended: not resumed after the restart');
      actions.push({ action: 'ended', streamId, reason, endedAt });
    }
    return actions;
  }
}
