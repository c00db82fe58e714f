import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { AuthUser } from '../plugins/auth.ts';
import { CLOSE_CODES, LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { TokenBucket } from '../security/rateLimiter.ts';

/**
 * Slow-consumer detection. Kernel socket buffers hide a stalled reader for
 * megabytes, so we do not wait for our own queue to grow: after `probeBytes`
 * sent we ping, and a reader that has not answered `graceMs` later while we
 * keep sending is cut off. Our own queue is capped at `maxQueuedBytes` too.
 */
export const SLOW_CONSUMER = { probeBytes: 128 * 1024, graceMs: 2000 } as const;

/**
 * One WebSocket on one stream. Owns the socket's send path (with slow-consumer
 * protection), its message-rate bucket and its serial message queue.
 */
export class LiveConnection {
  readonly id: string;
  readonly user: AuthUser | null;
  /** The session the socket was opened with (SHA-256 of its token): ended sessions close their sockets. */
  readonly sessionTokenHash: string | null;
  role: Role;
  /** Cleared by each heartbeat, set by each pong. */
  alive = true;
  readonly joinedAt: number;
  readonly bucket: TokenBucket;
  /** Consecutive refused messages: a client that keeps flooding is closed. */
  strikes = 0;
  /** Transports this socket has created since its media last reset (capped per connection). */
  transports = 0;
  #queue: Promise<void> = Promise.resolve();
  #bytesSinceProbe = 0;
  /** When the outstanding probe ping was sent (0: none outstanding). */
  #probeSentAt = 0;
  #closed = false;
  readonly #socket: WebSocket;
  readonly #maxBufferedBytes: number;
  readonly #visitorId: string | null;

  constructor(
    socket: WebSocket,
    user: AuthUser | null,
    role: Role,
    now: number,
    rate: { perSecond: number; burst: number } = { perSecond: LIMITS.messagesPerSecond, burst: LIMITS.messageBurst },
    maxBufferedBytes: number = LIMITS.maxBufferedBytes,
    visitorId: string | null = null,
    sessionTokenHash: string | null = null,
  ) {
    this.#visitorId = visitorId;
    this.sessionTokenHash = user ? sessionTokenHash : null;
    // Random, not a counter: unique across processes (cluster mode) and restarts, and not guessable.
    this.id = `c-${randomBytes(9).toString('base64url')}`;
    this.#socket = socket;
    this.user = user;
    this.role = role;
    this.joinedAt = now;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, now);
  }

  get closed(): boolean {
    return this.#closed || this.#socket.readyState !== this.#socket.OPEN;
  }

  get socket(): WebSocket {
    return this.#socket;
  }

  /**
   * `u:<id>` for accounts, `a:<visitor id>` for anonymous browsers (the first-party
   * cookie: a reload or a second tab is the same person), `a:<connection>` for
   * anonymous clients without it: the unit viewers are counted in.
   */
  get personKey(): string {
    if (this.user) return `u:${this.user.id}`;
    return this.#visitorId ? `a:${this.#visitorId}` : `a:${this.id}`;
  }

  send(message: ServerMessage): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** For broadcasts: the caller serialises once for all receivers. */
  sendRaw(data: string): void {
    if (this.closed) return;
    // A client that stops reading must not make the server buffer without bound,
    // nor slow anyone else's delivery: it is cut off.
    if (this.#socket.bufferedAmount > this.#maxBufferedBytes) return this.#cutOff();
    const t = Date.now();
    if (this.#probeSentAt !== 0 && t - this.#probeSentAt > SLOW_CONSUMER.graceMs) return this.#cutOff();
    this.#socket.send(data);
    this.#bytesSinceProbe += data.length;
    if (this.#probeSentAt === 0 && this.#bytesSinceProbe > SLOW_CONSUMER.probeBytes) {
      this.#probeSentAt = t;
      this.#socket.ping();
    }
  }

  /** Any pong proves the client read everything sent before the ping. */
  onPong(): void {
    this.alive = true;
    this.#probeSentAt = 0;
    this.#bytesSinceProbe = 0;
  }

  #cutOff(): void {
    this.close(CLOSE_CODES.policyViolation, 'slow consumer');
    // The close frame itself would queue behind the backlog: drop the TCP connection.
    this.#socket.terminate();
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close(code, reason.slice(0, 120));
    } catch {
      this.#socket.terminate();
    }
  }

  /** Runs message handlers one after another, so a peer's requests apply in the order sent. */
  enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task, task);
  }
}
