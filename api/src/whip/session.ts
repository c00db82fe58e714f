import { randomBytes } from 'node:crypto';
import type { MediaReset, ProducerInfo, TransportHealth } from '@redred/sfu';
import type { AuthUser } from '../plugins/auth.ts';
import type { Role } from '../protocol/constants.ts';
import type { LiveContext } from '../live/context.ts';
import type { StreamRoom } from '../live/room.ts';
import type { RoomMember } from '../live/room-sockets.ts';
import { toAppError } from '../live/signaling.ts';
import { classifyPatch, newEtag, parseIceFragment, writeIceFragment, type PatchOutcome } from './ice.ts';
import type { MediaKind } from './offer.ts';

/** How a session is watched: liveness of peers that have no socket, from their transport alone. */
export const SESSION_TIMING = {
  /** How often the transport is sampled. */
  tickMs: 1000,
  /** A client that never completes ICE + DTLS within this is gone. */
  connectTimeoutMs: 20_000,
  /** No byte received for this long (a publisher sends media, a viewer RTCP): the client is gone. */
  silenceMs: 6000,
} as const;

export type SessionCloseReason =
  | 'deleted'
  | 'disconnected'
  | 'silent'
  | 'never_connected'
  | 'replaced'
  | 'key_rotated'
  | 'kicked'
  | 'banned'
  | 'room_closed'
  | 'producer_closed'
  | 'media_reset'
  | 'shutdown';

export interface SessionInit {
  ctx: LiveContext;
  room: StreamRoom;
  user: AuthUser | null;
  role: Role;
  /** The client's ICE credentials from its offer (an ICE restart changes them). */
  clientIce: { usernameFragment: string; password: string };
  sections: { mid: string; kind: MediaKind }[];
}

/**
 * One WHIP or WHEP session: an HTTP resource (`Location`) over one peer of the
 * stream's SFU. It is a member of its room (counted, kicked, banned, closed
 * with it), owns its peer's media (closePeer on close), its watch timer and
 * its room-media listeners, and closes once whatever the cause.
 */
export abstract class MediaSession implements RoomMember {
  readonly id = randomBytes(16).toString('base64url');
  abstract readonly kind: 'whip' | 'whep';
  readonly user: AuthUser | null;
  readonly role: Role;
  readonly room: StreamRoom;
  readonly createdAt: number;
  etag = newEtag();
  transportId = '';
  protected readonly ctx: LiveContext;
  readonly #sections: { mid: string; kind: MediaKind }[];
  #clientIce: { usernameFragment: string; password: string };
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #connected = false;
  #lastBytes = -1;
  #lastProgressAt: number;
  #closed = false;
  #closeReason: SessionCloseReason | null = null;
  readonly #closeListeners: ((reason: SessionCloseReason) => void)[] = [];
  readonly #onProducerRemoved = (p: ProducerInfo) => this.producerRemoved(p);
  readonly #onMediaReset = (reset: MediaReset) => {
    if (reset.scope === 'all' || reset.peerIds.includes(this.peerId)) this.close('media_reset');
  };

  constructor(init: SessionInit) {
    this.ctx = init.ctx;
    this.room = init.room;
    this.user = init.user;
    this.role = init.role;
    this.#clientIce = init.clientIce;
    this.#sections = init.sections;
    this.createdAt = init.ctx.now();
    this.#lastProgressAt = this.createdAt;
  }

  get peerId(): string {
    return `${this.kind}-${this.id}`;
  }

  get personKey(): string {
    return this.user ? `u:${this.user.id}` : `a:${this.peerId}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get closeReason(): SessionCloseReason | null {
    return this.#closeReason;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Nothing received for `ms` (or never connected that long): the client is gone even if it has not said so. */
  silentFor(ms: number): boolean {
    return this.ctx.now() - this.#lastProgressAt >= ms;
  }

  onClose(listener: (reason: SessionCloseReason) => void): void {
    this.#closeListeners.push(listener);
  }

  /** Joins the room and starts watching the transport. Called once the answer is ready. */
  protected start(): void {
    this.room.media.on('producerremoved', this.#onProducerRemoved);
    this.room.media.on('mediareset', this.#onMediaReset);
    this.room.addMember(this);
    this.#timer = setInterval(() => void this.#tick(), SESSION_TIMING.tickMs);
    this.#timer.unref();
  }

  /** PATCH (RFC 9725 §4.3): trickle candidates are dropped (ICE-lite), an ICE restart answers mediasoup's new credentials. */
  async patch(ifMatch: string | undefined, body: string): Promise<PatchOutcome> {
    const fragment = parseIceFragment(body);
    if (classifyPatch(ifMatch, this.etag, fragment, this.#clientIce) === 'trickle') return { kind: 'trickle' };
    const ice = await this.#media(() => this.room.media.restartIce(this.peerId, this.transportId));
    this.#clientIce = { usernameFragment: fragment.usernameFragment!, password: fragment.password! };
    this.etag = newEtag();
    return { kind: 'restart', fragment: writeIceFragment(ice, this.#sections), etag: this.etag };
  }

  close(reason: SessionCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.room.media.off('producerremoved', this.#onProducerRemoved);
    this.room.media.off('mediareset', this.#onMediaReset);
    this.room.removeMember(this);
    if (!this.room.media.closed) this.room.media.closePeer(this.peerId);
    this.ctx.log.info({ module: this.kind, session: this.id, streamId: this.room.streamId, reason }, `${this.kind.toUpperCase()} session closed`);
    for (const listener of this.#closeListeners) listener(reason);
  }

  /** A producer of the stream went away: what this session does about it. */
  protected abstract producerRemoved(p: ProducerInfo): void;

  /** Each tick, once connected: the subclass's periodic work (layer order, key validity). */
  protected abstract connectedTick(health: TransportHealth): Promise<void>;

  /** ICE and DTLS are up: e.g. a viewer's consumers can be resumed now, so their first keyframe is not lost. */
  protected abstract becameConnected(): Promise<void>;

  /** Maps SFU errors to wire errors (a closed stream's media: 503). */
  protected async media<T>(op: () => Promise<T>): Promise<T> {
    return this.#media(op);
  }

  async #media<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw toAppError(err);
    }
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#ticking) return;
    this.#ticking = true;
    try {
      const health = await this.room.media.transportHealth(this.peerId, this.transportId);
      if (this.#closed) return;
      const now = this.ctx.now();
      if (health.dtlsState === 'closed' || health.dtlsState === 'failed') return this.close('disconnected');
      if (health.bytesReceived !== this.#lastBytes) {
        this.#lastBytes = health.bytesReceived;
        this.#lastProgressAt = now;
      }
      if (!this.#connected) {
        if (health.dtlsState === 'connected') {
          this.#connected = true;
          await this.becameConnected();
        } else if (now - this.createdAt >= SESSION_TIMING.connectTimeoutMs) {
          return this.close('never_connected');
        }
        return;
      }
      if (now - this.#lastProgressAt >= SESSION_TIMING.silenceMs) return this.close('silent');
      await this.connectedTick(health);
    } catch (err) {
      // The transport is gone (room closed, worker died): so is the session.
      if (!this.#closed) {
        this.ctx.log.debug({ module: this.kind, session: this.id, err }, 'session watch failed; closing');
        this.close('disconnected');
      }
    } finally {
      this.#ticking = false;
    }
  }
}
