import { effect, signal } from '@preact/signals';
import type { ProducerInfo, ServerMessageOf, Layer } from '@redred/api/protocol';
import { RequestError, type LiveConnection } from '../../net/live-connection.ts';
import { Receiver, type MediaSession, type ReceivedTracks } from '../../net/media.ts';
import type { MediaHandler } from '../../state/live-room.ts';

/** Refusals that only mean the producer went away meanwhile. */
const GONE = new Set(['producer_not_found', 'consumer_not_found', 'cannot_consume', 'disconnected', 'media_unavailable']);

/**
 * A viewer's media across the life of the page: a fresh Receiver per session
 * (each `connection_established`, each `media_reset`), the quality pick kept.
 */
export class WatchMedia implements MediaHandler {
  readonly tracks = signal<ReceivedTracks>({});
  readonly layer = signal<Layer>('auto');
  readonly error = signal<string | null>(null);
  readonly #conn: LiveConnection;
  #receiver: Promise<Receiver | null> = Promise.resolve(null);
  #current: Receiver | null = null;
  #stopMirror: (() => void) | null = null;
  #session: MediaSession | null = null;
  #generation = 0;

  constructor(conn: LiveConnection) {
    this.#conn = conn;
  }

  established(msg: ServerMessageOf<'connection_established'>): void {
    this.#session = msg;
    if (msg.stream.status === 'ended') return;
    this.#start(msg, msg.producers);
  }

  producerAdded(producer: ProducerInfo): void {
    void this.#receiver.then((r) => r?.consume(producer).catch(this.#report));
  }

  producerRemoved(producerId: string): void {
    void this.#receiver.then((r) => r?.dropProducer(producerId));
  }

  consumerClosed(consumerId: string): void {
    void this.#receiver.then((r) => r?.dropConsumer(consumerId));
  }

  layerChanged(): void {}

  /** The SFU rebuilt the router: new transport, then the streamer's new producers arrive as `producer_added`. */
  mediaReset(): void {
    if (this.#session !== null) this.#start(this.#session, []);
  }

  disconnected(): void {
    this.#teardown();
  }

  streamEnded(): void {
    this.#teardown();
  }

  setLayer(layer: Layer): void {
    this.layer.value = layer;
    void this.#receiver.then((r) => r?.setLayer(layer).catch(this.#report));
  }

  close(): void {
    this.#teardown();
  }

  #start(session: MediaSession, producers: ProducerInfo[]): void {
    this.#teardown();
    const generation = this.#generation;
    this.error.value = null;
    this.#receiver = Receiver.create(this.#conn, session, this.layer.peek()).then(
      (receiver) => {
        if (generation !== this.#generation) {
          receiver.close();
          return null;
        }
        this.#current = receiver;
        this.#stopMirror = effect(() => {
          this.tracks.value = receiver.tracks.value;
        });
        for (const p of producers) receiver.consume(p).catch(this.#report);
        return receiver;
      },
      (err: unknown) => {
        this.#report(err);
        return null;
      },
    );
  }

  #teardown(): void {
    this.#generation++;
    this.#stopMirror?.();
    this.#stopMirror = null;
    this.#current?.close();
    this.#current = null;
    this.#receiver = Promise.resolve(null);
    this.tracks.value = {};
  }

  readonly #report = (err: unknown): void => {
    if (err instanceof RequestError && GONE.has(err.code)) return;
    console.warn('media', err);
    this.error.value = err instanceof Error ? err.message : 'the video could not be started';
  };
}
