import type { WebSocket } from 'ws';
import type { AuthUser } from '../plugins/auth.ts';
import { CLOSE_CODES, LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { TokenBucket } from '../security/rateLimiter.ts';

let nextConnectionId = 1;

/** A healthy reader never leaves this much unsent for this long. */
export const SLOW_CONSUMER = { softBytes: 64 * 1024, graceMs: 2000 } as const;

/**
 * One WebSocket on one stream. Owns the socket's send path (with slow-consumer
 * protection), its message-rate bucket and its serial message queue.
 */
export class LiveConnection {
  readonly id: string;
  readonly user: AuthUser | null;
  role: Role;
  /** Cleared by each heartbeat, set by each pong. */
  alive = true;
  readonly joinedAt: number;
  readonly bucket: TokenBucket;
  /** Consecutive refused messages: a client that keeps flooding is closed. */
  strikes = 0;
  #queue: Promise<void> = Promise.resolve();
  /** Since when more than SLOW_CONSUMER.softBytes has been waiting to reach the kernel. */
  #backlogSince = 0;
  #closed = false;
  readonly #socket: WebSocket;
  readonly #maxBufferedBytes: number;

  constructor(
    socket: WebSocket,
    user: AuthUser | null,
    role: Role,
    now: number,
    rate: { perSecond: number; burst: number } = { perSecond: LIMITS.messagesPerSecond, burst: LIMITS.messageBurst },
    maxBufferedBytes: number = LIMITS.maxBufferedBytes,
  ) {
    this.id = `c${(nextConnectionId++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
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

  /** `u:<id>` for accounts, `a:<connection>` for anonymous watchers: the unit viewers are counted in. */
  get personKey(): string {
    return this.user ? `u:${this.user.id}` : `a:${this.id}`;
  }

  send(message: ServerMessage): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** For broadcasts: the caller serialises once for all receivers. */
  sendRaw(data: string): void {
    if (this.closed) return;
    // A client that stops reading must not make the server buffer without bound,
    // nor slow anyone else. Data queues here only once the kernel's socket buffers
    // are full, so a backlog that persists is a reader that stopped: cut it off.
    const buffered = this.#socket.bufferedAmount;
    if (buffered > this.#maxBufferedBytes) return this.#cutOff();
    if (buffered > SLOW_CONSUMER.softBytes) {
      const t = Date.now();
      if (this.#backlogSince === 0) this.#backlogSince = t;
      else if (t - this.#backlogSince > SLOW_CONSUMER.graceMs) return this.#cutOff();
    } else {
      this.#backlogSince = 0;
    }
    this.#socket.send(data);
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
