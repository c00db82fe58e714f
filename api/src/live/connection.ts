import type { WebSocket } from 'ws';
import type { AuthUser } from '../plugins/auth.ts';
import { CLOSE_CODES, LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { TokenBucket } from '../security/rateLimiter.ts';

let nextConnectionId = 1;

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
  #closed = false;
  readonly #socket: WebSocket;
  readonly #maxBufferedBytes: number;

  constructor(socket: WebSocket, user: AuthUser | null, role: Role, now: number, maxBufferedBytes: number = LIMITS.maxBufferedBytes) {
    this.id = `c${(nextConnectionId++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.#socket = socket;
    this.user = user;
    this.role = role;
    this.joinedAt = now;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.bucket = new TokenBucket(LIMITS.messagesPerSecond, LIMITS.messageBurst, now);
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
    // nor slow anyone else: past the limit it is cut off.
    if (this.#socket.bufferedAmount > this.#maxBufferedBytes) {
      this.close(CLOSE_CODES.policyViolation, 'slow consumer');
      this.#socket.terminate();
      return;
    }
    this.#socket.send(data);
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
