import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RoomBusError } from './bus-errors.ts';
import { RoomBusClosedError, type BusHandlerErrorReporter, type RoomBus, type RoomEvent, type RoomEventHandler, type RoomSubscription, type SiteEvent, type SiteEventHandler } from './bus.ts';
import { decodeRoomMessage, decodeSiteMessage, encodeBarrier, PUBLISH_SCRIPT, SEQ_TTL_MS } from './redis-bus-wire.ts';

export { RoomBusError, type RoomBusErrorCode } from './bus-errors.ts';

export interface RedisRoomBusOptions {
  /** `redis://[user:password@]host:port[/db]` (REDIS_URL). */
  url: string;
  /** Prefix of keys and channels: the nodes of one cluster share it. */
  namespace?: string;
  onHandlerError: BusHandlerErrorReporter;
  /** Every problem of the bus itself (the process goes on; deliveries may be missing, never wrong). */
  onError?: (err: RoomBusError) => void;
  onHealthChange?: (healthy: boolean) => void;
  /**
   * The subscriber connection came back after a drop and every channel is
   * subscribed again: whatever was published meanwhile was lost here, and what
   * it stood for has to be read from the database.
   */
  onResumed?: () => void;
}

interface Subscriber {
  readonly handler: RoomEventHandler;
}

interface Topic {
  readonly streamId: number;
  readonly channel: string;
  readonly subscribers: Set<Subscriber>;
  /** Last seq delivered here; undefined until the first. */
  lastSeq: number | undefined;
  /** Flush markers sent through the channel, resolved when they come back. */
  readonly barriers: Map<string, () => void>;
}

/** Where the Redis is, for messages: never the URL itself (it may hold a password). */
function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}

/**
 * The room bus of a cluster: every node publishes a stream's events on that
 * stream's Redis channel, and each node's subscriber connection fans them out
 * to its rooms. Delivery is asynchronous: `flush()` resolves once everything
 * published before it has reached this node's subscribers. The bus carries
 * deliveries, not storage: what was acknowledged is already in the database,
 * and a subscriber that misses events (Redis unreachable for a while) is told
 * (`bus_gap`; `onResumed` once its connection is back), so the rooms can
 * re-read from the database what they missed. A site channel carries the
 * events that are not one stream's (an account signed out).
 */
export class RedisRoomBus implements RoomBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #ns: string;
  readonly #opts: RedisRoomBusOptions;
  readonly #topics = new Map<number, Topic>();
  readonly #byChannel = new Map<string, Topic>();
  readonly #siteHandlers = new Set<SiteEventHandler>();
  readonly #siteBarriers = new Map<string, () => void>();
  /** The subscriber connection was ready once: the next 'ready' is a reconnection. */
  #subWasReady = false;
  /** Publishes waiting for this node's subscriptions to be in place, so that a room hears its own events. */
  #held: Array<() => void> = [];
  #pendingSubscribes = 0;
  readonly #inflight = new Set<Promise<unknown>>();
  #healthy = false;
  #closed = false;

  /** Connects both connections; rejects with `bus_unavailable` if Redis cannot be reached now. */
  static async connect(opts: RedisRoomBusOptions): Promise<RedisRoomBus> {
    const bus = new RedisRoomBus(opts);
    try {
      await Promise.all([bus.#pub.connect(), bus.#sub.connect()]);
    } catch (err) {
      bus.close();
      throw new RoomBusError('bus_unavailable', `Redis at ${describeServer(opts.url)} is unreachable: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    }
    return bus;
  }

  private constructor(opts: RedisRoomBusOptions) {
    this.#opts = opts;
    this.#ns = opts.namespace ?? 'redred';
    const common = {
      lazyConnect: true,
      // Commands wait through a short outage, in order, then fail (reported) rather than pile up.
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
      // We resubscribe ourselves, holding publishes meanwhile (#resubscribeAll).
      autoResubscribe: false,
    };
    this.#pub = new Redis(opts.url, { ...common, connectionName: `${this.#ns}-bus-pub` });
    this.#sub = new Redis(opts.url, { ...common, connectionName: `${this.#ns}-bus-sub` });
    this.#pub.defineCommand('redredRoomPublish', { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
    for (const conn of [this.#pub, this.#sub]) {
      conn.on('ready', () => this.#updateHealth());
      conn.on('close', () => this.#updateHealth());
      conn.on('end', () => this.#updateHealth());
      // An unhandled 'error' event would end the process: every one is reported instead.
      conn.on('error', (err: Error) => {
        if (!this.#closed) this.#report(new RoomBusError('bus_unavailable', `Redis at ${describeServer(opts.url)}: ${err.message}`, {}, { cause: err }));
      });
    }
    this.#sub.on('ready', () => this.#resubscribeAll());
    this.#sub.on('message', (channel: string, text: string) => this.#onMessage(channel, text));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The prefix of its keys and channels: another node of the cluster uses the same. */
  get namespace(): string {
    return this.#ns;
  }

  /** Both connections are up. What /health reports for the bus. */
  get healthy(): boolean {
    return this.#healthy;
  }

  publish(streamId: number, event: RoomEvent): void {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    // Serialised now: a caller changing the object later changes nothing on the wire.
    const json = JSON.stringify(event);
    const sent = this.#send(() => this.#pub.redredRoomPublish(this.#seqKey(streamId), this.#channel(streamId), json, String(streamId), String(SEQ_TTL_MS)));
    this.#track(sent).catch((err: unknown) => {
      this.#report(new RoomBusError('bus_publish_failed', `event ${event.kind} of stream ${streamId} was not published: ${(err as Error).message}`, { streamId }, { cause: err }));
    });
  }

  publishSite(event: SiteEvent): void {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    const json = JSON.stringify(event);
    this.#track(this.#send(() => this.#pub.publish(this.#siteChannel, json))).catch((err: unknown) => {
      this.#report(new RoomBusError('bus_publish_failed', `site event ${event.kind} was not published: ${(err as Error).message}`, {}, { cause: err }));
    });
  }

  subscribeSite(handler: SiteEventHandler): RoomSubscription {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    const entry: SiteEventHandler = (e) => handler(e);
    if (this.#siteHandlers.size === 0) void this.#subscribeChannel(this.#siteChannel);
    this.#siteHandlers.add(entry);
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        this.#siteHandlers.delete(entry);
        if (this.#siteHandlers.size > 0 || this.#closed) return;
        for (const resolve of this.#siteBarriers.values()) resolve();
        this.#siteBarriers.clear();
        this.#track(this.#sub.unsubscribe(this.#siteChannel)).catch((err: unknown) => {
          this.#report(new RoomBusError('bus_subscribe_failed', `unsubscribing the site channel: ${(err as Error).message}`, {}, { cause: err }));
        });
      },
    };
  }

  subscribe(streamId: number, handler: RoomEventHandler): RoomSubscription {
    if (this.#closed) throw new RoomBusClosedError('the room bus is closed');
    let topic = this.#topics.get(streamId);
    if (!topic) {
      topic = { streamId, channel: this.#channel(streamId), subscribers: new Set(), lastSeq: undefined, barriers: new Map() };
      this.#topics.set(streamId, topic);
      this.#byChannel.set(topic.channel, topic);
      this.#subscribeChannel(topic.channel);
    }
    const subscribed = topic;
    const subscriber: Subscriber = { handler };
    subscribed.subscribers.add(subscriber);
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        subscribed.subscribers.delete(subscriber);
        if (subscribed.subscribers.size > 0 || this.#topics.get(streamId) !== subscribed) return;
        this.#dropTopic(subscribed);
        if (!this.#closed) {
          this.#track(this.#sub.unsubscribe(subscribed.channel)).catch((err: unknown) => {
            this.#report(new RoomBusError('bus_subscribe_failed', `unsubscribing stream ${streamId}: ${(err as Error).message}`, { streamId }, { cause: err }));
          });
        }
      },
    };
  }

  /**
   * Resolves once every event published (and subscription closed) on this node so far has reached Redis,
   * and every event published anywhere before this call (and already in Redis)
   * has been delivered to this node's subscribers: a marker goes through each
   * subscribed channel and comes back behind them.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.#inflight].map((p) => p.catch(() => undefined)));
    const siteBarrier = this.#siteHandlers.size > 0 ? [this.#barrierOn(this.#siteChannel, this.#siteBarriers)] : [];
    await Promise.all([...[...this.#topics.values()].map((topic) => this.#barrierOn(topic.channel, topic.barriers)), ...siteBarrier]);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const topic of [...this.#topics.values()]) this.#dropTopic(topic);
    this.#siteHandlers.clear();
    for (const resolve of this.#siteBarriers.values()) resolve();
    this.#siteBarriers.clear();
    // Publishes accepted before close still go out; the pub connection quits after them.
    this.#release();
    if (this.#pub.status === 'ready') this.#pub.quit().catch(() => this.#pub.disconnect());
    else this.#pub.disconnect();
    this.#sub.disconnect();
    this.#updateHealth();
  }

  #seqKey(streamId: number): string {
    return `${this.#ns}:room:${streamId}:seq`;
  }

  #channel(streamId: number): string {
    return `${this.#ns}:room:${streamId}`;
  }

  get #siteChannel(): string {
    return `${this.#ns}:site`;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Sends at once, in call order, unless this node's subscriptions are being set up: then after them. */
  #send<T>(op: () => Promise<T>): Promise<T> {
    if (this.#pendingSubscribes === 0 && this.#held.length === 0) return op();
    return new Promise<T>((resolve, reject) => this.#held.push(() => void op().then(resolve, reject)));
  }

  #release(): void {
    const held = this.#held;
    this.#held = [];
    for (const send of held) send();
  }

  #subscribeChannel(channel: string): Promise<void> {
    this.#pendingSubscribes++;
    return this.#sub
      .subscribe(channel)
      .then(
        () => undefined,
        (err: unknown) => {
          if (this.#closed) return;
          // Redis is down: the channel is subscribed again when the connection is back (#resubscribeAll).
          this.#report(new RoomBusError('bus_subscribe_failed', `subscribing ${channel}: ${(err as Error).message}`, {}, { cause: err }));
        },
      )
      .finally(() => {
        if (--this.#pendingSubscribes === 0) this.#release();
      });
  }

  #resubscribeAll(): void {
    if (this.#closed) return;
    const resumed = this.#subWasReady;
    this.#subWasReady = true;
    const channels = [...this.#topics.values()].map((topic) => topic.channel);
    if (this.#siteHandlers.size > 0) channels.push(this.#siteChannel);
    const subscribed = Promise.all(channels.map((channel) => this.#subscribeChannel(channel)));
    if (!resumed) return;
    void subscribed.then(() => {
      if (this.#closed) return;
      try {
        this.#opts.onResumed?.();
      } catch (err) {
        this.#report(new RoomBusError('bus_subscribe_failed', `the resume listener failed: ${(err as Error).message}`, {}, { cause: err }));
      }
    });
  }

  #dropTopic(topic: Topic): void {
    this.#topics.delete(topic.streamId);
    this.#byChannel.delete(topic.channel);
    for (const resolve of topic.barriers.values()) resolve();
    topic.barriers.clear();
  }

  #barrierOn(channel: string, barriers: Map<string, () => void>): Promise<void> {
    const token = randomUUID();
    const back = new Promise<void>((resolve) => barriers.set(token, resolve));
    const sent = this.#send(() => this.#pub.publish(channel, encodeBarrier(token)));
    return sent.then(() => back);
  }

  #onMessage(channel: string, text: string): void {
    if (this.#closed) return;
    if (channel === this.#siteChannel) return this.#onSiteMessage(text);
    const topic = this.#byChannel.get(channel);
    if (!topic) return;
    const m = decodeRoomMessage(text, topic.streamId);
    if (m && 'barrier' in m) {
      topic.barriers.get(m.barrier)?.();
      topic.barriers.delete(m.barrier);
      return;
    }
    if (!m) {
      this.#report(new RoomBusError('bus_bad_message', `a message on ${channel} is not a room envelope`, { streamId: topic.streamId }));
      return;
    }
    const { envelope } = m;
    this.#checkSequence(topic, envelope.seq);
    for (const subscriber of [...topic.subscribers]) {
      // A subscriber closed by an earlier handler in this same delivery is skipped.
      if (!topic.subscribers.has(subscriber)) continue;
      try {
        subscriber.handler(envelope);
      } catch (err) {
        this.#opts.onHandlerError(err, envelope);
      }
    }
  }

  #onSiteMessage(text: string): void {
    const m = decodeSiteMessage(text);
    if (m && 'barrier' in m) {
      this.#siteBarriers.get(m.barrier)?.();
      this.#siteBarriers.delete(m.barrier);
      return;
    }
    if (!m) return this.#report(new RoomBusError('bus_bad_message', `a message on ${this.#siteChannel} is not a site event`));
    const { event } = m;
    for (const handler of [...this.#siteHandlers]) {
      if (!this.#siteHandlers.has(handler)) continue;
      try {
        handler(event);
      } catch (err) {
        this.#opts.onHandlerError(err, event);
      }
    }
  }

  /**
   * Redis delivers a channel in publish order and never twice, so seq only
   * ever moves by one here, unless messages were lost (a gap: our connection
   * dropped) or the counter restarted (Redis lost its data). Both are reported;
   * the event is delivered either way.
   */
  #checkSequence(topic: Topic, seq: number): void {
    const expected = topic.lastSeq === undefined ? seq : topic.lastSeq + 1;
    topic.lastSeq = seq;
    if (seq === expected) return;
    const details = { streamId: topic.streamId, expectedSeq: expected, seq };
    if (seq > expected) this.#report(new RoomBusError('bus_gap', `stream ${topic.streamId}: events ${expected}..${seq - 1} were missed`, details));
    else this.#report(new RoomBusError('bus_sequence_reset', `stream ${topic.streamId}: sequence went back from ${expected - 1} to ${seq}`, details));
  }

  #updateHealth(): void {
    const healthy = !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#opts.onHealthChange?.(healthy);
  }

  #report(err: RoomBusError): void {
    try {
      this.#opts.onError?.(err);
    } catch {
      // A failing reporter must not break delivery.
    }
  }
}
