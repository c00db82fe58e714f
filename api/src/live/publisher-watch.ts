import type { ProducerInfo } from '@redred/sfu';
import type { LiveContext } from './context.ts';
import { endStream } from './lifecycle.ts';
import type { StreamRoom } from './room.ts';
import { END_REASONS } from './stream-rules.ts';

/**
 * A camera switch or a simulcast producer remade in its true layer order
 * closes the video producer and makes a new one within a few event-loop turns:
 * not a dropped publisher. Only an absence longer than this is announced.
 */
export const PUBLISHER_SETTLE_MS = 750;

/**
 * Whether a live stream still has its publisher. When the last video producer
 * goes (the studio's socket dropped, OBS's connection died or it sent DELETE),
 * viewers are told the stream is reconnecting, and the stream ends with
 * `publisher_lost` after STREAMER_GONE_MS unless
 * video comes back: OBS reconnecting, or the studio republishing, resumes the
 * same stream. Owns its two timers and its listeners; close() drops them.
 */
export class PublisherWatch {
  readonly #ctx: LiveContext;
  readonly #room: StreamRoom;
  #settleTimer: NodeJS.Timeout | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #onAdded = (p: ProducerInfo) => this.#added(p);
  readonly #onRemoved = (p: ProducerInfo) => this.#removed(p);

  constructor(ctx: LiveContext, room: StreamRoom) {
    this.#ctx = ctx;
    this.#room = room;
    room.media.on('produceradded', this.#onAdded);
    room.media.on('producerremoved', this.#onRemoved);
  }

  /** True while the grace period runs. */
  get reconnecting(): boolean {
    return this.#graceTimer !== null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clear();
    this.#room.media.off('produceradded', this.#onAdded);
    this.#room.media.off('producerremoved', this.#onRemoved);
  }

  #hasVideo(): boolean {
    return this.#room.media.getProducers().some((p) => p.kind === 'video');
  }

  #added(p: ProducerInfo): void {
    if (this.#closed || p.kind !== 'video') return;
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    this.#settleTimer = null;
    if (!this.#graceTimer) return;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    this.#ctx.log.info({ module: 'publisher', streamId: this.#room.streamId }, 'publisher is back');
    this.#room.publish({ kind: 'publisher', state: 'publishing', until: null });
  }

  #removed(p: ProducerInfo): void {
    if (this.#closed || p.kind !== 'video' || this.#settleTimer || this.#graceTimer) return;
    if (this.#room.status !== 'live' || this.#hasVideo()) return;
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = null;
      if (this.#closed || this.#room.closed || this.#room.status !== 'live' || this.#hasVideo()) return;
      this.#startGrace();
    }, PUBLISHER_SETTLE_MS);
  }

  #startGrace(): void {
    const graceMs = this.#ctx.config.sweeper.streamerGoneMs;
    const until = this.#ctx.now() + graceMs;
    this.#ctx.log.info({ module: 'publisher', streamId: this.#room.streamId, graceMs }, 'publisher gone: waiting for it to come back');
    this.#room.publish({ kind: 'publisher', state: 'reconnecting', until });
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      if (this.#closed || this.#room.closed || this.#hasVideo()) return;
      endStream(this.#ctx, this.#room, this.#room.streamId, END_REASONS.publisherLost).catch((err: unknown) =>
        this.#ctx.log.error({ module: 'publisher', err, streamId: this.#room.streamId }, 'could not end a stream whose publisher is gone'),
      );
    }, graceMs);
  }

  #clear(): void {
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#settleTimer = null;
    this.#graceTimer = null;
  }
}
