import type { types as ms } from 'mediasoup';
import { callMediasoup, SfuError } from './errors.ts';
import type {
  ConsumerLayers,
  ConsumerOffer,
  LayerPreference,
  MediaContext,
  ProducerSource,
} from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

/**
 * Browsers send three spatial layers (r0–r2), OBS over WHIP up to four; each
 * with up to three temporal layers. 'high' and 'auto' ask for the fourth:
 * mediasoup settles on the top layer there is.
 */
const SPATIAL_LAYER: Record<LayerPreference, number> = { low: 0, medium: 1, high: 3, auto: 3 };
const TOP_TEMPORAL_LAYER = 2;

export function isLayerPreference(layer: unknown): layer is LayerPreference {
  return typeof layer === 'string' && Object.hasOwn(SPATIAL_LAYER, layer);
}

/**
 * Why a consumer closed. Only 'producerclose' concerns its viewer (the
 * streamer stopped that track); the others come with the viewer leaving or
 * with a `mediareset`.
 */
export type ConsumerCloseReason = 'closed' | 'producerclose' | 'transportclose';

export type StreamConsumerEvents = {
  close: [ConsumerCloseReason];
};

/** A viewer's consumer of one producer. Owned by its recv transport. */
export class StreamConsumer extends TypedEmitter<StreamConsumerEvents> {
  readonly peerId: string;
  readonly source: ProducerSource;
  /** The origin producer's id, which is what the viewer knows (a piped copy may differ). */
  readonly producerId: string;
  readonly #consumer: ms.Consumer;
  readonly #log: MediaContext['log'];
  #closed = false;

  constructor(
    consumer: ms.Consumer,
    options: { peerId: string; source: ProducerSource; producerId: string; ctx: MediaContext },
  ) {
    const { ctx } = options;
    super((event, error) =>
      ctx.log.error({ streamId: ctx.streamId, consumerId: consumer.id, event, err: error }, 'StreamConsumer listener failed'),
    );
    this.#consumer = consumer;
    this.peerId = options.peerId;
    this.source = options.source;
    this.producerId = options.producerId;
    this.#log = ctx.log;
    consumer.on('producerclose', () => this.#close('producerclose'));
  }

  get id(): string {
    return this.#consumer.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get offer(): ConsumerOffer {
    const consumer = this.#consumer;
    return {
      id: consumer.id,
      producerId: this.producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      type: consumer.type,
      source: this.source,
      producerPaused: consumer.producerPaused,
    };
  }

  /**
   * Starts forwarding; a video consumer asks the producer for a keyframe, so
   * the viewer's first picture does not wait for the next one.
   *
   * Once only: mediasoup 3.8.4 stalled ~40 % of simulcast joins after the first
   * keyframe until the browser's own PLI ~3 s later, and we asked again at +700
   * and +1400 ms. On 3.12.16 the stall is gone without them: 1 of 50 joins
   * stalled with and without the retries, against 19 of 50 on 3.8.4 without
   * (`scripts/first-frame-stalls.ts`).
   */
  async resume(): Promise<void> {
    this.#assertOpen();
    await callMediasoup('resume consumer', () => this.#consumer.resume());
    if (this.#consumer.kind !== 'video' || this.#closed) return;
    this.#consumer.requestKeyFrame().catch((error: unknown) => {
      // The consumer may have closed while the request was on its way; nothing to do.
      this.#log.debug({ err: error }, 'requestKeyFrame failed');
    });
  }

  /**
   * Pins a simulcast consumer to a layer ('auto' = the top one, from which
   * mediasoup's bandwidth estimation steps down as needed). Returns the
   * layers mediasoup settled on, or undefined for non-simulcast consumers.
   */
  async setPreferredLayer(layer: LayerPreference): Promise<ConsumerLayers | undefined> {
    this.#assertOpen();
    if (this.#consumer.type !== 'simulcast') return undefined;
    await callMediasoup('set preferred layers', () =>
      this.#consumer.setPreferredLayers({ spatialLayer: SPATIAL_LAYER[layer], temporalLayer: TOP_TEMPORAL_LAYER }),
    );
    return this.#consumer.preferredLayers;
  }

  close(): void {
    this.#close('closed');
  }

  /** Its transport closed (the mediasoup consumer is already closed with it). */
  transportClosed(): void {
    this.#close('transportclose');
  }

  #close(reason: ConsumerCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#consumer.close();
    this.safeEmit('close', reason);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('consumer_not_found', `consumer ${this.id} is closed`);
  }
}
