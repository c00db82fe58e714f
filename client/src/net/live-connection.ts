import { signal, type ReadonlySignal } from '@preact/signals';
import type { ClientMessage, ClientRequest, ServerMessage, ServerMessageOf, ServerMessageType, ErrorCode, WireError } from '@redred/api/protocol';
import { CLOSE_CODES } from '@redred/api/protocol/constants';

/**
 * connecting → open ⇄ reconnecting; `over` is final (the server ended it: stream
 * ended, kicked, banned); `closed` is final (we closed it).
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'over' | 'closed';

export type OverReason =
  | { kind: 'ended' }
  | { kind: 'kicked'; message: string; retryAfterSeconds?: number }
  | { kind: 'banned'; message: string };

/** A request the server refused (`type: 'error'` with our requestId), or one that never got an answer. */
export class RequestError extends Error {
  readonly code: ErrorCode | 'disconnected' | 'timeout';
  readonly retryAfterSeconds: number | undefined;

  constructor(code: RequestError['code'], message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static fromWire(error: WireError): RequestError {
    return new RequestError(error.code, error.message, error.retryAfterSeconds);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A client request without its id: the connection numbers requests itself. */
export type RequestBody = DistributiveOmit<ClientRequest, 'requestId'>;

export interface LiveConnectionOptions {
  /** Absolute ws:// or wss:// URL of `/ws/live/:streamId`. */
  url: string;
  /** A request with no reply after this long is rejected (the socket may be half-dead). */
  requestTimeoutMs?: number;
  /** Reconnect backoff: doubles from `initialMs` up to `maxMs`, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
}

interface Pending {
  expect: ServerMessageType;
  resolve: (message: ServerMessage) => void;
  reject: (error: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const TERMINAL_CLOSE: Record<number, OverReason['kind']> = {
  [CLOSE_CODES.streamEnded]: 'ended',
  [CLOSE_CODES.kicked]: 'kicked',
  [CLOSE_CODES.banned]: 'banned',
};

/** Same-origin WebSocket URL of a stream's room; the session cookie authenticates it. */
export function liveSocketUrl(streamId: number, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/live/${streamId}`;
}

/**
 * Owns the stream's WebSocket: reconnects with backoff (never after the server
 * ended the session), numbers requests and matches their replies, and exposes
 * its state as signals for the UI.
 */
export class LiveConnection {
  readonly #url: string;
  readonly #requestTimeoutMs: number;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #status = signal<ConnectionStatus>('connecting');
  readonly #over = signal<OverReason | null>(null);
  readonly #retryAt = signal<number | null>(null);
  readonly #listeners = new Set<(message: ServerMessage) => void>();
  readonly #disconnectListeners = new Set<() => void>();
  readonly #pending = new Map<string, Pending>();
  #socket: WebSocket | null = null;
  #nextRequestId = 1;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The last error the server sent outside any request (e.g. why it refused the join). */
  #lastUnsolicitedError: WireError | null = null;
  #streamEnded = false;

  constructor({ url, requestTimeoutMs = 15_000, backoff = { initialMs: 500, maxMs: 10_000 } }: LiveConnectionOptions) {
    this.#url = url;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#backoff = backoff;
    window.addEventListener('offline', this.#onOffline);
    window.addEventListener('online', this.#onOnline);
    this.#open();
  }

  get status(): ReadonlySignal<ConnectionStatus> {
    return this.#status;
  }

  /** Why the server ended the session, once `status` is `over`. */
  get over(): ReadonlySignal<OverReason | null> {
    return this.#over;
  }

  /** When the next reconnect attempt happens (ms since the epoch), while reconnecting. */
  get retryAt(): ReadonlySignal<number | null> {
    return this.#retryAt;
  }

  /** Every server message that is not the reply to one of our requests. */
  onMessage(listener: (message: ServerMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The socket went away (any reason): the server has dropped this peer's transports. */
  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /** Fire-and-forget messages (none of them expect a reply). Returns false when not connected. */
  send(message: Exclude<ClientMessage, ClientRequest>): boolean {
    return this.#write(message);
  }

  /**
   * Sends a request and resolves with the reply of type `expect` carrying the
   * same requestId; rejects with a RequestError on `error`, disconnect or timeout.
   */
  request<R extends ServerMessageType>(body: RequestBody, expect: R): Promise<ServerMessageOf<R>> {
    const requestId = `r${this.#nextRequestId++}`;
    return new Promise<ServerMessageOf<R>>((resolve, reject) => {
      if (this.#status.peek() !== 'open') {
        reject(new RequestError('disconnected', 'not connected; wait for the connection to come back'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new RequestError('timeout', 'the server did not answer in time'));
      }, this.#requestTimeoutMs);
      this.#pending.set(requestId, {
        expect,
        // Narrowed by the `expect` check in #receive before this is called.
        resolve: (message) => resolve(message as ServerMessageOf<R>),
        reject,
        timer,
      });
      if (!this.#write({ ...body, requestId })) {
        clearTimeout(timer);
        this.#pending.delete(requestId);
        reject(new RequestError('disconnected', 'not connected; wait for the connection to come back'));
      }
    });
  }

  /** Skips the backoff wait (a "retry now" button). */
  reconnectNow(): void {
    if (this.#status.peek() !== 'reconnecting') return;
    this.#clearRetry();
    this.#open();
  }

  /** Closes for good. Idempotent. */
  close(): void {
    if (this.#status.peek() === 'closed') return;
    this.#finish('closed');
    window.removeEventListener('offline', this.#onOffline);
    window.removeEventListener('online', this.#onOnline);
  }

  #write(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  #open(): void {
    this.#retryAt.value = null;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#failures = 0;
      this.#lastUnsolicitedError = null;
      this.#status.value = 'open';
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket || typeof event.data !== 'string') return;
      this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#lost(event.code);
    };
    // A failed upgrade surfaces as an error followed by close(1006): handled there.
    socket.onerror = () => {};
  }

  #receive(data: string): void {
    let message: ServerMessage;
    try {
      // The server's messages are its contract (server-messages.ts); only the envelope is checked here.
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed !== 'object' || parsed === null || !('type' in parsed) || typeof parsed.type !== 'string') return;
      message = parsed as ServerMessage;
    } catch {
      return;
    }
    const requestId = 'requestId' in message ? message.requestId : undefined;
    const pending = requestId === undefined ? undefined : this.#pending.get(requestId);
    if (requestId !== undefined && pending) {
      this.#pending.delete(requestId);
      clearTimeout(pending.timer);
      if (message.type === 'error') pending.reject(RequestError.fromWire(message.error));
      else if (message.type === pending.expect) pending.resolve(message);
      else pending.reject(new RequestError('internal', `expected ${pending.expect}, the server sent ${message.type}`));
      return;
    }
    if (message.type === 'error') this.#lastUnsolicitedError = message.error;
    if (message.type === 'stream_ended') this.#streamEnded = true;
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        console.error('live message listener failed', err);
      }
    }
  }

  #lost(code: number): void {
    this.#detach();
    const kind = this.#streamEnded ? 'ended' : TERMINAL_CLOSE[code];
    if (kind) {
      this.#over.value = this.#overReason(kind);
      this.#finish('over');
      return;
    }
    this.#scheduleReconnect();
  }

  #overReason(kind: OverReason['kind']): OverReason {
    const error = this.#lastUnsolicitedError;
    switch (kind) {
      case 'kicked':
        return { kind, message: error?.message ?? 'you were removed from this stream', ...(error?.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}) };
      case 'banned':
        return { kind, message: error?.message ?? 'you are banned from this channel' };
      case 'ended':
        return { kind };
    }
  }

  /** Drops the current socket: pending requests fail, listeners learn the media is gone. */
  #detach(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(CLOSE_CODES.normal);
    }
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new RequestError('disconnected', 'the connection dropped before the server answered'));
      this.#pending.delete(id);
    }
    for (const listener of this.#disconnectListeners) {
      try {
        listener();
      } catch (err) {
        console.error('disconnect listener failed', err);
      }
    }
  }

  #scheduleReconnect(): void {
    this.#status.value = 'reconnecting';
    this.#clearRetry();
    const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#failures);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.#failures++;
    this.#retryAt.value = Date.now() + delay;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      // Offline: wait for the `online` event rather than burning attempts.
      if (!navigator.onLine) return;
      this.#open();
    }, delay);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#retryAt.value = null;
  }

  #finish(status: 'over' | 'closed'): void {
    this.#clearRetry();
    if (this.#socket) this.#detach();
    this.#status.value = status;
  }

  // The browser notices a dead TCP connection late; the OS knows at once.
  readonly #onOffline = (): void => {
    if (this.#status.peek() === 'open' || this.#status.peek() === 'connecting') {
      this.#detach();
      this.#scheduleReconnect();
    }
  };

  readonly #onOnline = (): void => {
    if (this.#status.peek() !== 'reconnecting') return;
    this.#clearRetry();
    this.#failures = 0;
    this.#open();
  };
}
