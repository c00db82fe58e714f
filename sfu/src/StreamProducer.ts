import type { types as ms } from 'mediasoup';
import type { SfuLogger } from './logger.ts';
import { callMediasoup } from './errors.ts';
import type { MediaKind, ProducerInfo, ProducerSource, ProducerStreamStats } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

/**
 * Why a producer closed. 'closed': its peer stopped it. 'transportclose': its
 * peer left. 'routerclose': the stream's media went away (closed, or the
 * origin worker died); `mediareset` or the stream's `close` covers it.
 */
export type ProducerCloseReason = 'closed' | 'transportclose' | 'routerclose';

export type StreamProducerEvents = {
  close: [ProducerCloseReason];
};

/** One of a streamer's tracks on the origin router. Owned by its send transport. */
export class StreamProducer extends TypedEmitter<StreamProducerEvents> {
  readonly info: Readonly<ProducerInfo>;
  readonly #producer: ms.Producer;
  #closed = false;

  constructor(producer: ms.Producer, options: { peerId: string; source: ProducerSource; kind: MediaKind; log: SfuLogger }) {
    const { log } = options;
    super((event, error) => log.error({ producerId: producer.id, event, err: error }, 'StreamProducer listener failed'));
    this.#producer = producer;
    this.info = {
      id: producer.id,
      kind: options.kind,
      source: options.source,
      peerId: options.peerId,
      encodings: producer.rtpParameters.encodings?.length ?? 1,
    };
  }

  get id(): string {
    return this.#producer.id;
  }

  get peerId(): string {
    return this.info.peerId;
  }

  get source(): ProducerSource {
    return this.info.source;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The RTP streams received, one per encoding that has sent anything. */
  async streams(): Promise<ProducerStreamStats[]> {
    const stats = await callMediasoup('producer stats', () => this.#producer.getStats());
    return stats
      .filter((s) => s.type === 'inbound-rtp')
      .map((s) => ({ rid: s.rid, ssrc: s.ssrc, rtxSsrc: s.rtxSsrc, bitrate: s.bitrate, byteCount: s.byteCount, score: s.score }));
  }

  close(): void {
    this.#close('closed');
  }

  /** Its transport closed (the mediasoup producer is already closed with it). */
  transportClosed(): void {
    this.#close('transportclose');
  }

  /** Its transport closed because the origin router did. */
  routerClosed(): void {
    this.#close('routerclose');
  }

  #close(reason: ProducerCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#producer.close();
    this.safeEmit('close', reason);
  }
}
