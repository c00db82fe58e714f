import { effect, signal } from '@preact/signals';
import type { ServerMessageOf } from '@redred/api/protocol';
import type { LiveConnection } from '../../net/live-connection.ts';
import { CAMERA_ENCODINGS, Publisher, type MediaSession } from '../../net/media.ts';
import type { MediaHandler } from '../../state/live-room.ts';
import type { StudioDevices } from './studio-devices.ts';

export type BroadcastState = 'off' | 'starting' | 'on' | 'error';

/**
 * The streamer's side of the media: once "Go live" is pressed, keeps a Publisher
 * in step with the wanted tracks, and republishes after a reconnect or a
 * `media_reset` (the SFU lost its worker).
 */
export class StudioBroadcast implements MediaHandler {
  /** The streamer asked to be on air. */
  readonly onAir = signal(false);
  readonly state = signal<BroadcastState>('off');
  readonly error = signal<string | null>(null);
  /** Video published by someone else on this stream (an encoder over WHIP): the studio cannot go live over it. */
  readonly encoderLive = signal(false);
  readonly #conn: LiveConnection;
  readonly #otherVideo = new Set<string>();
  #cameraEncodings = CAMERA_ENCODINGS;
  readonly #devices: StudioDevices;
  #publisher: Publisher | null = null;
  #stopSync: (() => void) | null = null;
  #session: MediaSession | null = null;
  #generation = 0;

  constructor(conn: LiveConnection, devices: StudioDevices) {
    this.#conn = conn;
    this.#devices = devices;
  }

  get publisher(): Publisher | null {
    return this.#publisher;
  }

  established(msg: ServerMessageOf<'connection_established'>): void {
    this.#session = msg;
    // On (re)connect every producer listed is someone else's: ours went with the old socket.
    this.#otherVideo.clear();
    for (const p of msg.producers) if (p.kind === 'video') this.#otherVideo.add(p.id);
    this.encoderLive.value = this.#otherVideo.size > 0;
    if (this.onAir.peek()) this.#start();
  }

  /** The camera layers for the upload budget; a live camera switches to them. */
  setCameraEncodings(encodings: typeof CAMERA_ENCODINGS): void {
    this.#cameraEncodings = encodings;
    void this.#publisher?.setCameraEncodings(encodings).catch((err: unknown) => this.#fail(this.#generation, err));
  }

  goLive(): void {
    this.onAir.value = true;
    if (!this.#publisher) this.#start();
  }

  // Producer events reach every socket but the producer's own: these are someone else's.
  producerAdded(producer: { id: string; kind: string }): void {
    if (producer.kind !== 'video') return;
    this.#otherVideo.add(producer.id);
    this.encoderLive.value = true;
  }

  producerRemoved(producerId: string): void {
    this.#otherVideo.delete(producerId);
    this.encoderLive.value = this.#otherVideo.size > 0;
  }

  consumerClosed(): void {}
  layerChanged(): void {}

  mediaReset(): void {
    if (this.onAir.peek()) this.#start();
  }

  disconnected(): void {
    this.#teardown();
    if (this.onAir.peek()) this.state.value = 'starting';
  }

  streamEnded(): void {
    this.onAir.value = false;
    this.#teardown();
    this.state.value = 'off';
  }

  close(): void {
    this.#teardown();
  }

  #start(): void {
    this.#teardown();
    const session = this.#session;
    if (session === null || this.#conn.status.peek() !== 'open') {
      // Published as soon as the session is (re)established.
      this.state.value = 'starting';
      return;
    }
    const generation = this.#generation;
    this.state.value = 'starting';
    this.error.value = null;
    Publisher.create(this.#conn, session, this.#cameraEncodings).then(
      (publisher) => {
        if (generation !== this.#generation) {
          publisher.close();
          return;
        }
        this.#publisher = publisher;
        // Every change of the wanted tracks (device switch, camera off, screen share) re-syncs the producers.
        this.#stopSync = effect(() => {
          const wanted = this.#devices.wanted.value;
          publisher.sync(wanted).then(
            () => {
              if (generation === this.#generation) this.state.value = 'on';
            },
            (err: unknown) => this.#fail(generation, err),
          );
        });
      },
      (err: unknown) => this.#fail(generation, err),
    );
  }

  #fail(generation: number, err: unknown): void {
    if (generation !== this.#generation) return;
    console.warn('publish failed', err);
    this.state.value = 'error';
    this.error.value = err instanceof Error ? err.message : 'publishing failed';
  }

  #teardown(): void {
    this.#generation++;
    this.#stopSync?.();
    this.#stopSync = null;
    this.#publisher?.close();
    this.#publisher = null;
  }
}
