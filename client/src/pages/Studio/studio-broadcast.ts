import { effect, signal } from '@preact/signals';
import type { ServerMessageOf } from '@redred/api/protocol';
import type { LiveConnection } from '../../net/live-connection.ts';
import { Publisher, type MediaSession } from '../../net/media.ts';
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
  readonly #conn: LiveConnection;
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
    if (this.onAir.peek()) this.#start();
  }

  goLive(): void {
    this.onAir.value = true;
    if (!this.#publisher) this.#start();
  }

  producerAdded(): void {}
  producerRemoved(): void {}
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
    Publisher.create(this.#conn, session).then(
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
