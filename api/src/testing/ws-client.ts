import WebSocket from 'ws';
import type { ClientMessage } from '../protocol/client-messages.ts';
import type { ServerMessage, ServerMessageOf, ServerMessageType } from '../protocol/server-messages.ts';

/**
 * A protocol client for tests and load tests: records every message, awaits
 * messages by type and predicate, and sends typed requests with request ids.
 */
export class TestWsClient {
  /**
   * Every message received, in order. A `comments` batch is recorded as the
   * `comment` messages it holds, so tests read one comment per entry; `frames`
   * counts what actually arrived on the wire.
   */
  readonly messages: ServerMessage[] = [];
  frames = 0;
  /** Frames by their type as sent (`comments` batches counted as one). */
  readonly framesByType = new Map<ServerMessageType, number>();
  closeCode: number | null = null;
  closeReason = '';
  readonly #waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  #nextId = 1;
  readonly opened: Promise<void>;
  readonly closedPromise: Promise<number>;

  constructor(
    readonly ws: WebSocket,
  ) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      });
    });
    ws.on('message', (data) => {
      this.frames++;
      const frame = JSON.parse(data.toString()) as ServerMessage;
      this.framesByType.set(frame.type, (this.framesByType.get(frame.type) ?? 0) + 1);
      const received: ServerMessage[] = frame.type === 'comments' ? frame.comments.map((comment) => ({ type: 'comment', comment })) : [frame];
      for (const msg of received) this.#receive(msg);
    });
    ws.on('error', () => {});
  }

  #receive(msg: ServerMessage): void {
    this.messages.push(msg);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.pred(msg)) {
        this.#waiters.splice(i, 1);
        w.resolve(msg);
      }
    }
  }

  static async connect(url: string, opts: { token?: string; origin?: string; headers?: Record<string, string> } = {}): Promise<TestWsClient> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const client = new TestWsClient(new WebSocket(url, { headers, ...(opts.origin ? { origin: opts.origin } : {}) }));
    await client.opened;
    return client;
  }

  of<T extends ServerMessageType>(type: T): ServerMessageOf<T>[] {
    return this.messages.filter((m) => m.type === type) as ServerMessageOf<T>[];
  }

  /** Resolves with the first message (already received or future) of this type matching `pred`. */
  waitFor<T extends ServerMessageType>(type: T, pred: (m: ServerMessageOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<ServerMessageOf<T>> {
    const existing = this.messages.find((m) => m.type === type && pred(m as ServerMessageOf<T>));
    if (existing) return Promise.resolve(existing as ServerMessageOf<T>);
    return this.waitNext(type, pred, timeoutMs);
  }

  /** Only messages that arrive from now on. */
  waitNext<T extends ServerMessageType>(type: T, pred: (m: ServerMessageOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<ServerMessageOf<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}; got ${this.messages.map((m) => m.type).join(',')}`)), timeoutMs);
      this.#waiters.push({
        pred: (m) => m.type === type && pred(m as ServerMessageOf<T>),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as ServerMessageOf<T>);
        },
      });
    });
  }

  send(message: ClientMessage | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Sends a request and resolves with its reply (any type carrying the same requestId), errors included. */
  async request(message: Record<string, unknown> & { type: ClientMessage['type'] }, timeoutMs = 10_000): Promise<ServerMessage> {
    const requestId = `r${this.#nextId++}`;
    const reply = new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${message.type} ${requestId}`)), timeoutMs);
      this.#waiters.push({
        pred: (m) => (m as { requestId?: string }).requestId === requestId,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
    this.send({ ...message, requestId });
    return reply;
  }

  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closedPromise;
  }
}
