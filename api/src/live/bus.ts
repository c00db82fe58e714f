import type { ChatSettings, ProducerInfo, WireComment } from '../protocol/common.ts';
import type { Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';

/**
 * Which sockets of a stream receive a message. Plain data, so that a bus
 * between processes (cluster mode: Redis) carries it unchanged.
 */
export type Audience =
  | { to: 'all' }
  /** Sockets that already have their chat history: live comments go here, so none is seen twice or missed. */
  | { to: 'chat' }
  /** The streamer and moderators (joins, leaves). */
  | { to: 'staff' }
  | { to: 'connections'; ids: string[] }
  /** Everyone but one connection (a producer's own publisher needs no `producer_added`). */
  | { to: 'all_but'; connectionId: string };

export interface PersonRef {
  id: number;
  username: string;
}

/**
 * Everything that reaches the clients of a stream, or changes what every copy
 * of the room must know. Each subscriber (a room, one per process carrying the
 * stream) applies it to its own sockets: state events carry the change, and the
 * subscriber derives the messages, so every process ends in the same state.
 */
export type RoomEvent =
  | { kind: 'message'; audience: Audience; message: ServerMessage }
  /**
   * Committed comments at positions `from`, `from + 1`, … of the stream's chat
   * (chat-feed.ts): each room delivers them in position order, once.
   */
  | { kind: 'comments'; from: number; comments: WireComment[] }
  /**
   * Cluster mode: the node the stream's media comes from now (null: none, the
   * streamer is away) and its producers. Edges pipe from it.
   */
  | { kind: 'origin'; nodeId: string | null; producers: ProducerInfo[] }
  /** The stream's audience, counted across every node carrying it (people, not sockets). */
  | { kind: 'viewers'; viewers: number; peakViewers: number }
  | { kind: 'stream_live'; startedAt: number }
  /** The live stream's publisher left ('reconnecting' until `until`, then it ends) or came back ('publishing'). */
  | { kind: 'publisher'; state: 'reconnecting' | 'publishing'; until: number | null }
  /** The streamer edited the title or description. */
  | { kind: 'stream_info'; title: string; description: string }
  /** The stream's recorder started or stopped (`reason`: why it stopped early). */
  | { kind: 'recording'; recording: boolean; reason?: string | undefined }
  /** The end is already durable; subscribers tell their sockets and close the room. */
  | { kind: 'stream_ended'; reason: string; endedAt: number }
  | { kind: 'chat_settings'; settings: ChatSettings }
  | { kind: 'role_changed'; user: PersonRef; role: Exclude<Role, 'streamer' | 'anonymous'> }
  /**
   * A stored restriction: subscribers tell everyone, remember it for the
   * moderation gate, and close the user's sockets for a kick or ban.
   */
  | { kind: 'restricted'; restriction: 'timeout' | 'kick' | 'ban'; user: PersonRef; reason: string; until: number | null }
  /** A worker died under these connections: they re-negotiate their media. */
  | { kind: 'media_reset'; reason: string; scope: 'all' | 'viewers'; connectionIds: string[] | null };

/**
 * Events for every node rather than one stream: an account's sessions ended
 * (signed out by an admin, disabled, deleted), so its sockets close everywhere.
 */
export type SiteEvent = { kind: 'signed_out'; userId: number; reason: string };

export type SiteEventHandler = (event: SiteEvent) => void;

/** Told of a handler that threw: the room envelope or site event it was given. */
export type BusHandlerErrorReporter = (err: unknown, delivery: RoomEnvelope | SiteEvent) => void;

/** What subscribers receive: `seq` counts the stream's events, from 1, in publish order. */
export interface RoomEnvelope {
  streamId: number;
  seq: number;
  event: RoomEvent;
}

export type RoomEventHandler = (envelope: RoomEnvelope) => void;

export interface RoomSubscription {
  /** Stops delivery to this handler. Idempotent. */
  close(): void;
}

/**
 * The one path from the live modules to the sockets of a stream.
 *
 * Contract (bus-contract.ts tests it for every implementation):
 * - every subscriber of a stream receives every event published to that
 *   stream after it subscribed, exactly once, in publish order, with `seq`
 *   increasing by one;
 * - events are plain data (JSON round-trips them unchanged);
 * - a handler that throws is reported and never stops delivery to the others;
 * - after close() publish is refused and no handler is called.
 */
export interface RoomBus {
  publish(streamId: number, event: RoomEvent): void;
  subscribe(streamId: number, handler: RoomEventHandler): RoomSubscription;
  /** To every site subscriber on every node (no order or sequence across site events is promised). */
  publishSite(event: SiteEvent): void;
  subscribeSite(handler: SiteEventHandler): RoomSubscription;
  close(): void;
  /**
   * Resolves once every event this process published so far has been
   * delivered to this process's subscribers (at once for a synchronous bus).
   */
  flush(): Promise<void>;
  readonly closed: boolean;
  /** Whether events can flow now (a cluster bus: its Redis is reachable). What /health reports for the bus. */
  readonly healthy: boolean;
}

export class RoomBusClosedError extends Error {
  override readonly name = 'RoomBusClosedError';
  readonly code = 'bus_closed';
}

interface Topic {
  seq: number;
  readonly handlers: Set<RoomEventHandler>;
}

/**
 * The single-process bus: delivery is synchronous, so when publish() returns
 * every room of this process has applied the event (a kicked socket is already
 * closed when the moderator is acked).
 */
export class InProcessRoomBus implements RoomBus {
  readonly #topics = new Map<number, Topic>();
  readonly #siteHandlers = new Set<SiteEventHandler>();
  readonly #onHandlerError: BusHandlerErrorReporter;
  #closed = false;

  constructor(onHandlerError: BusHandlerErrorReporter) {
    this.#onHandlerError = onHandlerError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get healthy(): boolean {
    return !this.#closed;
  }

  publish(streamId: number, event: RoomEvent): void {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    const topic = this.#topics.get(streamId);
    if (!topic) return;
    const envelope: RoomEnvelope = { streamId, seq: ++topic.seq, event };
    for (const handler of [...topic.handlers]) {
      // A handler unsubscribed by an earlier one in this same delivery is skipped.
      if (!topic.handlers.has(handler)) continue;
      try {
        handler(envelope);
      } catch (err) {
        this.#onHandlerError(err, envelope);
      }
    }
  }

  publishSite(event: SiteEvent): void {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    for (const handler of [...this.#siteHandlers]) {
      if (!this.#siteHandlers.has(handler)) continue;
      try {
        handler(event);
      } catch (err) {
        this.#onHandlerError(err, event);
      }
    }
  }

  subscribeSite(handler: SiteEventHandler): RoomSubscription {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    const entry: SiteEventHandler = (e) => handler(e);
    this.#siteHandlers.add(entry);
    return { close: () => void this.#siteHandlers.delete(entry) };
  }

  /** Delivery is synchronous: nothing is ever on its way. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  subscribe(streamId: number, handler: RoomEventHandler): RoomSubscription {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    let topic = this.#topics.get(streamId);
    if (!topic) {
      topic = { seq: 0, handlers: new Set() };
      this.#topics.set(streamId, topic);
    }
    const subscribed = topic;
    subscribed.handlers.add(handler);
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        subscribed.handlers.delete(handler);
        // The sequence lives as long as anyone listens; a stream reopened later starts again at 1.
        if (subscribed.handlers.size === 0 && this.#topics.get(streamId) === subscribed) this.#topics.delete(streamId);
      },
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#topics.clear();
    this.#siteHandlers.clear();
  }
}
