import { addUniqueViewers, insertViewerSample, recordViewerCount, type LiveStream, type StreamStatus } from '@redred/db';
import type { StreamRouter } from '@redred/sfu';
import type { ChatSettings, StreamInfo } from '../protocol/common.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { ViewerCounter } from './viewers.ts';

/** viewers_update goes out at most this often per stream, always with the latest count. */
export const VIEWERS_UPDATE_INTERVAL_MS = 1000;
/** A viewers-over-time sample at least this often while live. */
export const VIEWER_SAMPLE_INTERVAL_MS = 10_000;

/**
 * The live state of one stream in this process: its sockets, its SFU router, its
 * audience. Chat, moderation and signaling are separate modules that act on it.
 */
export class StreamRoom {
  readonly streamId: number;
  /** The channel is the streamer's account: roles and bans live there. */
  readonly channelId: number;
  readonly streamerName: string;
  status: StreamStatus;
  title: string;
  description: string;
  readonly createdAt: number;
  startedAt: number | null;
  endedAt: number | null = null;
  peakViewers: number;
  chatSettings: ChatSettings;
  readonly viewers = new ViewerCounter();
  readonly #connections = new Map<string, LiveConnection>();
  readonly #media: StreamRouter;
  readonly #ctx: LiveContext;
  #presenceTimer: NodeJS.Timeout | null = null;
  #lastPresenceAt = 0;
  readonly #sampleTimer: NodeJS.Timeout;
  #uniquePending: string[] = [];
  #closed = false;
  /** Listeners the owner attaches (e.g. the registry drops the room). */
  onClose: (() => void) | null = null;

  constructor(ctx: LiveContext, stream: LiveStream & { streamer_username: string }, media: StreamRouter, chatSettings: ChatSettings) {
    this.#ctx = ctx;
    this.streamId = stream.id;
    this.channelId = stream.streamer_id;
    this.streamerName = stream.streamer_username;
    this.status = stream.status;
    this.title = stream.title;
    this.description = stream.description;
    this.createdAt = stream.created_at;
    this.startedAt = stream.started_at;
    this.peakViewers = stream.peak_viewers;
    this.chatSettings = chatSettings;
    this.#media = media;
    this.#sampleTimer = setInterval(() => void this.#sample(), VIEWER_SAMPLE_INTERVAL_MS);
    this.#sampleTimer.unref();
  }

  get media(): StreamRouter {
    return this.#media;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  connections(): IterableIterator<LiveConnection> {
    return this.#connections.values();
  }

  connection(id: string): LiveConnection | undefined {
    return this.#connections.get(id);
  }

  connectionsOfUser(userId: number): LiveConnection[] {
    return [...this.#connections.values()].filter((c) => c.user?.id === userId);
  }

  streamer(): LiveConnection | undefined {
    for (const c of this.#connections.values()) if (c.role === 'streamer') return c;
    return undefined;
  }

  info(): StreamInfo {
    return {
      id: this.streamId,
      title: this.title,
      description: this.description,
      status: this.status,
      streamer: { id: this.channelId, username: this.streamerName },
      viewers: this.viewers.count,
      peakViewers: this.peakViewers,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      createdAt: this.createdAt,
    };
  }

  /** Serialises once; sends to every connection that passes `filter`. */
  broadcast(message: ServerMessage, filter?: (c: LiveConnection) => boolean): void {
    const data = JSON.stringify(message);
    for (const c of this.#connections.values()) {
      if (!filter || filter(c)) c.sendRaw(data);
    }
  }

  /** The streamer and moderators: who sees joins, leaves and the moderation log. */
  broadcastToStaff(message: ServerMessage): void {
    this.broadcast(message, (c) => c.role === 'streamer' || c.role === 'moderator');
  }

  add(conn: LiveConnection): void {
    this.#connections.set(conn.id, conn);
    if (this.viewers.add(conn, this.#ctx.now())) {
      this.#uniquePending.push(conn.personKey);
      if (this.viewers.count > this.peakViewers) this.peakViewers = this.viewers.count;
      this.#schedulePresence();
    }
  }

  remove(conn: LiveConnection): void {
    if (!this.#connections.delete(conn.id)) return;
    void this.#media.closePeer(conn.id);
    if (this.viewers.remove(conn)) this.#schedulePresence();
  }

  /** Coalesces viewer-count broadcasts: the first change goes out at once, then at most one per interval. */
  #schedulePresence(): void {
    if (this.#presenceTimer || this.#closed) return;
    const wait = Math.max(0, this.#lastPresenceAt + VIEWERS_UPDATE_INTERVAL_MS - this.#ctx.now());
    this.#presenceTimer = setTimeout(() => {
      this.#presenceTimer = null;
      void this.flushPresence();
    }, wait);
  }

  /** Sends the latest count and the batched joins/leaves, and persists the count. */
  async flushPresence(): Promise<void> {
    if (this.#closed) return;
    const now = this.#ctx.now();
    this.#lastPresenceAt = now;
    const viewers = this.viewers.count;
    this.broadcast({ type: 'viewers_update', viewers, peakViewers: this.peakViewers });
    const change = this.viewers.drainChanges();
    if (change.joined.length > 0 || change.anonymousJoined > 0) {
      this.broadcastToStaff({ type: 'user_joined', users: change.joined, anonymous: change.anonymousJoined, at: now });
    }
    if (change.left.length > 0 || change.anonymousLeft > 0) {
      this.broadcastToStaff({ type: 'user_left', users: change.left, anonymous: change.anonymousLeft, at: now });
    }
    const unique = this.#uniquePending;
    this.#uniquePending = [];
    try {
      await recordViewerCount(this.#ctx.db, this.streamId, viewers, now);
      await addUniqueViewers(this.#ctx.db, this.streamId, unique, now);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: this.streamId }, 'could not persist viewer count');
    }
  }

  async #sample(): Promise<void> {
    if (this.#closed || this.status !== 'live') return;
    try {
      await insertViewerSample(this.#ctx.db, this.streamId, this.#ctx.now(), this.viewers.count);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: this.streamId }, 'could not store viewer sample');
    }
  }

  /** Takes a sample now (the moment the stream goes live, or ends). */
  sampleNow(): Promise<void> {
    return this.#sample();
  }

  /** Closes media and sockets. Idempotent. Does not touch the database. */
  close(closeCode: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#presenceTimer) clearTimeout(this.#presenceTimer);
    clearInterval(this.#sampleTimer);
    for (const c of this.#connections.values()) c.close(closeCode, reason);
    this.#connections.clear();
    this.#media.close();
    this.onClose?.();
  }
}
