import { channelRecordsByDefault, createStream, findOpenStreamOf, lastStreamDetails, setStreamRecord } from '@redred/db';
import type { LayerPreference } from '@redred/sfu';
import { AppError } from '../errors.ts';
import type { LiveContext } from '../live/context.ts';
import type { RoomRegistry } from '../live/rooms.ts';
import type { StreamRoom } from '../live/room.ts';
import type { AuthUser } from '../plugins/auth.ts';
import type { ParsedOffer } from './offer.ts';
import type { MediaSession } from './session.ts';
import type { StreamKeyAuth } from './stream-keys.ts';
import { WhepSession } from './whep-session.ts';
import { WhipSession } from './whip-session.ts';

/**
 * A WHIP session that has received nothing for this long may be replaced by a
 * new POST for its channel: the encoder lost its network and is reconnecting
 * before our watch noticed (OBS retries after a couple of seconds).
 */
export const REPLACE_SILENT_AFTER_MS = 2500;

/** Default title of a stream started from an encoder when the channel never streamed before. */
export const defaultTitle = (username: string) => `${username} is live`;

/**
 * The WHIP and WHEP sessions of this process, by id (the secret part of their
 * `Location`). Publishing is serialised per channel, so two encoders racing
 * with one key cannot both go live. close() ends every session (shutdown).
 */
export class MediaSessions {
  readonly #ctx: LiveContext;
  readonly #rooms: RoomRegistry;
  readonly #keys: StreamKeyAuth;
  readonly #sessions = new Map<string, MediaSession>();
  readonly #publishing = new Map<number, Promise<unknown>>();
  #closed = false;

  constructor(ctx: LiveContext, rooms: RoomRegistry, keys: StreamKeyAuth) {
    this.#ctx = ctx;
    this.#rooms = rooms;
    this.#keys = keys;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string, kind: 'whip'): WhipSession | undefined;
  get(id: string, kind: 'whep'): WhepSession | undefined;
  get(id: string, kind: 'whip' | 'whep'): MediaSession | undefined {
    const session = this.#sessions.get(id);
    return session && session.kind === kind && !session.closed ? session : undefined;
  }

  all(): MediaSession[] {
    return [...this.#sessions.values()];
  }

  whipOfChannel(channelId: number): WhipSession | undefined {
    for (const s of this.#sessions.values()) if (s instanceof WhipSession && s.channelId === channelId && !s.closed) return s;
    return undefined;
  }

  /** POST /api/whip: the channel's open stream (made if none), taken live by a new session. One at a time per channel. */
  publish(channel: { id: number; username: string }, keyHash: string, offer: ParsedOffer): Promise<WhipSession> {
    const previous = this.#publishing.get(channel.id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#publish(channel, keyHash, offer));
    const settled = run.catch(() => undefined);
    this.#publishing.set(channel.id, settled);
    void settled.then(() => {
      if (this.#publishing.get(channel.id) === settled) this.#publishing.delete(channel.id);
    });
    return run;
  }

  /** POST /api/whep/:streamId: a viewer's player, admitted by the moderation gate like a socket. */
  async play(streamId: number, user: AuthUser | null, offer: ParsedOffer, layer: LayerPreference): Promise<WhepSession> {
    this.#assertOpen();
    const room = await this.#rooms.open(streamId);
    if (!room) throw new AppError('stream_not_found', 'this stream has ended or does not exist');
    const admission = await room.gate.admit(user, this.#ctx.now());
    if (!admission.ok) throw admission.error;
    const session = await WhepSession.open({ ctx: this.#ctx, room, user, role: admission.role, offer, layer });
    return this.#adopt(session);
  }

  /** A rotated key: the encoder using the old one is disconnected at once. */
  keyRotated(channelId: number): void {
    this.whipOfChannel(channelId)?.close('key_rotated');
  }

  close(): void {
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close('shutdown');
    this.#sessions.clear();
  }

  async #publish(channel: { id: number; username: string }, keyHash: string, offer: ParsedOffer): Promise<WhipSession> {
    this.#assertOpen();
    const room = await this.#streamRoom(channel);
    const previous = this.whipOfChannel(channel.id);
    if (previous && previous.room === room && previous.silentFor(REPLACE_SILENT_AFTER_MS)) {
      // Its encoder is reconnecting: the new session takes over the same stream.
      previous.close('replaced');
    }
    const publishing = room.media.getProducers().filter((p) => p.kind === 'video');
    if (publishing.length > 0) {
      const fromEncoder = publishing.some((p) => p.peerId.startsWith('whip-'));
      throw new AppError('already_publishing', fromEncoder
        ? 'this channel is already live from another encoder; stop it (or wait a few seconds after it dropped) before starting again'
        : 'this channel is already live from the browser studio; end or stop that broadcast first');
    }
    const session = await WhipSession.open({ ctx: this.#ctx, room, keys: this.#keys, channel, keyHash, offer });
    return this.#adopt(session);
  }

  /** The channel's stream that is not ended, made from its last stream's details if there is none. */
  async #streamRoom(channel: { id: number; username: string }): Promise<StreamRoom> {
    const db = this.#ctx.db;
    let stream = await findOpenStreamOf(db, channel.id);
    if (!stream) {
      const last = await lastStreamDetails(db, channel.id);
      const created = await createStream(db, { streamerId: channel.id, title: last?.title ?? defaultTitle(channel.username), description: last?.description ?? '', now: this.#ctx.now() });
      stream = created.stream;
      // An encoder has no "record" box: the channel default decides, as for a studio stream without one.
      if (created.ok && (await channelRecordsByDefault(db, channel.id))) await setStreamRecord(db, stream.id, true);
    }
    const room = await this.#rooms.open(stream.id);
    if (!room || room.closed) throw new AppError('unavailable', 'the stream could not be opened; try again', { retryAfterSeconds: 2 });
    return room;
  }

  #adopt<S extends MediaSession>(session: S): S {
    if (this.#closed) {
      session.close('shutdown');
      throw new AppError('unavailable', 'the server is shutting down');
    }
    this.#sessions.set(session.id, session);
    session.onClose(() => this.#sessions.delete(session.id));
    return session;
  }

  #assertOpen(): void {
    if (this.#closed) throw new AppError('unavailable', 'the server is shutting down', { retryAfterSeconds: 5 });
  }
}
