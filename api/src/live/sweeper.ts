import type { FastifyBaseLogger } from 'fastify';
import { getStreamStatuses, listOpenStreams, markStreamerSeen, markViewersSeen } from '@redred/db';
import { CLOSE_CODES } from '../protocol/constants.ts';
import type { LiveContext } from './context.ts';
import { closeEndedRoom, endStream } from './lifecycle.ts';
import type { RoomRegistry } from './rooms.ts';
import type { StreamRoom } from './room.ts';
import { END_REASONS, evaluateStream, factsFromRow, type StreamFacts, type SweepRule, type SweepRules } from './stream-rules.ts';

/** The streamer is warned this long before the maximum duration ends the stream. */
export const MAX_DURATION_WARNING_MS = 10 * 60 * 1000;

/**
 * While the streamer or an audience is present, their presence is written at most
 * this often. Far below every rule's threshold, and it is what lets the CLI,
 * which sees only the database, reach the sweeper's verdicts.
 */
export const PRESENCE_REFRESH_MS = 30_000;

export type SweepAction =
  | { action: 'ended'; streamId: number; rule: SweepRule; reason: string; detail: string }
  /** A room was torn down: its stream is ended in the database (the CLI did it) or gone, or its media is. */
  | { action: 'room_closed'; streamId: number; reason: string };

export interface StreamSweeperOptions {
  ctx: LiveContext;
  rooms: RoomRegistry;
  rules: SweepRules;
  log: FastifyBaseLogger;
}

/** The live facts of a stream this process carries: what the database may not have yet. */
export function factsFromRoom(room: StreamRoom): StreamFacts {
  return { viewers: room.presence.count, streamerConnected: room.streamerPresent() };
}

/**
 * Ends the streams nobody ended (the rules of `stream-rules.ts`) and keeps this
 * process's rooms in step with the database. Two ticks: the sweep applies the
 * rules; the cheaper room sync, run often, only reads the status of open rooms
 * (so an end made by the CLI reaches viewers within seconds) and records presence.
 */
export class StreamSweeper {
  readonly #ctx: LiveContext;
  readonly #rooms: RoomRegistry;
  readonly #rules: SweepRules;
  readonly #log: FastifyBaseLogger;
  #sweepTimer: NodeJS.Timeout | null = null;
  #syncTimer: NodeJS.Timeout | null = null;
  /** Sweeps and syncs run one at a time: both may end rooms. */
  #queue: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #stopped = false;
  readonly #streamerSeenWritten = new Map<number, number>();
  /** Live streams whose staff were told the maximum duration is near: told once. */
  readonly #warnedMaxDuration = new Set<number>();
  readonly #viewersSeenWritten = new Map<number, number>();

  constructor({ ctx, rooms, rules, log }: StreamSweeperOptions) {
    this.#ctx = ctx;
    this.#rooms = rooms;
    this.#rules = rules;
    this.#log = log;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Starts both ticks and runs a first sweep at once (streams may have gone stale while no server ran). */
  start({ sweepIntervalMs, roomSyncIntervalMs }: { sweepIntervalMs: number; roomSyncIntervalMs: number }): void {
    if (this.#stopped || this.#sweepTimer) return;
    this.#sweepTimer = setInterval(() => this.#tick(() => this.sweepOnce()), sweepIntervalMs);
    this.#syncTimer = setInterval(() => this.#tick(() => this.syncRooms()), roomSyncIntervalMs);
    this.#sweepTimer.unref();
    this.#syncTimer.unref();
    this.#tick(() => this.sweepOnce());
  }

  /** Stops the ticks and waits for a sweep in flight, so nothing touches the database after it closes. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    if (this.#syncTimer) clearInterval(this.#syncTimer);
    this.#sweepTimer = null;
    this.#syncTimer = null;
    await this.#queue;
  }

  /** Syncs rooms, then applies the rules to every stream that is not ended. */
  sweepOnce(): Promise<SweepAction[]> {
    return this.#serial(async () => [...(await this.#syncRooms()), ...(await this.#applyRules())]);
  }

  /** Tears down rooms whose stream the database says is ended or gone; records presence of the others. */
  syncRooms(): Promise<SweepAction[]> {
    return this.#serial(() => this.#syncRooms());
  }

  /** A timer's run: skipped while another is queued (a slow disk must not pile sweeps up); errors are logged. */
  #tick(job: () => Promise<SweepAction[]>): void {
    if (this.#queued > 0) return;
    job().catch((err: unknown) => this.#log.error({ err }, 'sweep failed'));
  }

  #serial(job: () => Promise<SweepAction[]>): Promise<SweepAction[]> {
    this.#queued++;
    const run = this.#queue.then(async () => {
      try {
        return this.#stopped ? [] : await job();
      } finally {
        this.#queued--;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #applyRules(): Promise<SweepAction[]> {
    const actions: SweepAction[] = [];
    const now = this.#ctx.now();
    for (const stream of await listOpenStreams(this.#ctx.db)) {
      const room = this.#openRoom(stream.id);
      const verdict = evaluateStream(stream, room ? factsFromRoom(room) : factsFromRow(stream), now, this.#rules);
      if (!verdict) {
        if (room) this.#warnIfMaxDurationNear(room, stream, now);
        continue;
      }
      try {
        const { alreadyEnded } = await endStream(this.#ctx, room, stream.id, verdict.reason);
        if (alreadyEnded) continue;
        this.#log.info({ streamId: stream.id, rule: verdict.rule, reason: verdict.reason, detail: verdict.detail }, 'sweeper ended stream');
        actions.push({ action: 'ended', streamId: stream.id, rule: verdict.rule, reason: verdict.reason, detail: verdict.detail });
      } catch (err) {
        this.#log.error({ err, streamId: stream.id, rule: verdict.rule }, 'sweeper could not end stream');
      }
    }
    return actions;
  }

  #warnIfMaxDurationNear(room: StreamRoom, stream: { id: number; status: string; started_at: number | null }, now: number): void {
    if (stream.status !== 'live' || stream.started_at === null || this.#warnedMaxDuration.has(stream.id)) return;
    const endsAt = stream.started_at + this.#rules.maxLiveMs;
    if (endsAt - now > MAX_DURATION_WARNING_MS) return;
    this.#warnedMaxDuration.add(stream.id);
    room.publish({ kind: 'message', audience: { to: 'staff' }, message: { type: 'stream_ending_soon', reason: 'max_duration', endsAt } });
  }

  async #syncRooms(): Promise<SweepAction[]> {
    const rooms = this.#rooms.all().filter((r) => !r.closed);
    const open = new Set(rooms.map((r) => r.streamId));
    for (const id of this.#warnedMaxDuration) if (!open.has(id)) this.#warnedMaxDuration.delete(id);
    for (const id of this.#streamerSeenWritten.keys()) if (!open.has(id)) this.#streamerSeenWritten.delete(id);
    for (const id of this.#viewersSeenWritten.keys()) if (!open.has(id)) this.#viewersSeenWritten.delete(id);
    if (rooms.length === 0) return [];

    const rows = new Map((await getStreamStatuses(this.#ctx.db, [...open])).map((row) => [row.id, row]));
    const now = this.#ctx.now();
    const actions: SweepAction[] = [];
    for (const room of rooms) {
      if (room.closed) continue;
      const row = rows.get(room.streamId);
      if (!row) {
        // Its row was removed by hand: the sockets and the router have nothing left to serve.
        closeEndedRoom(room, END_REASONS.streamGone, now);
        this.#log.warn({ streamId: room.streamId, reason: END_REASONS.streamGone }, 'closed the room of a stream that no longer exists');
        actions.push({ action: 'room_closed', streamId: room.streamId, reason: END_REASONS.streamGone });
      } else if (row.status === 'ended') {
        const reason = row.end_reason ?? 'ended';
        closeEndedRoom(room, reason, row.ended_at ?? now);
        this.#log.info({ streamId: room.streamId, reason }, 'closed the room of a stream ended elsewhere');
        actions.push({ action: 'room_closed', streamId: room.streamId, reason });
      } else if (room.media.closed) {
        // The SFU gave up on this stream's media (a worker died and no other could
        // take it): close the sockets so peers reconnect to a fresh room and router.
        room.close(CLOSE_CODES.internalError, 'media unavailable');
        this.#log.warn({ streamId: room.streamId, reason: 'media_closed' }, 'closed a room whose media was gone');
        actions.push({ action: 'room_closed', streamId: room.streamId, reason: 'media_closed' });
      } else {
        // A comment committed whose bus event never came (its node died, Redis was down) is read back.
        room.chat.feed.checkStored(row.comments_count);
        await this.#recordPresence(room, now);
      }
    }
    return actions;
  }

  async #recordPresence(room: StreamRoom, now: number): Promise<void> {
    const id = room.streamId;
    if (room.streamerPresent() && isDue(this.#streamerSeenWritten.get(id), now)) {
      await markStreamerSeen(this.#ctx.db, id, now);
      this.#streamerSeenWritten.set(id, now);
    }
    if (room.presence.count > 0 && isDue(this.#viewersSeenWritten.get(id), now)) {
      await markViewersSeen(this.#ctx.db, id, now);
      this.#viewersSeenWritten.set(id, now);
    }
  }

  #openRoom(streamId: number): StreamRoom | undefined {
    const room = this.#rooms.get(streamId);
    return room && !room.closed ? room : undefined;
  }
}

function isDue(lastWrittenAt: number | undefined, now: number): boolean {
  // A clock that went back (tests, NTP steps) also writes: the stored value would be in the future.
  return lastWrittenAt === undefined || now - lastWrittenAt >= PRESENCE_REFRESH_MS || now < lastWrittenAt;
}
