import WebSocket from 'ws';
import type { ClientMessage, ServerMessage, ServerMessageOf, ServerMessageType, WireError } from '@redred/api/protocol';

/** A request the server answered with `error`. */
export class RequestError extends Error {
  readonly code: string;
  constructor(readonly type: string, readonly wire: WireError) {
    super(`${type}: ${wire.code}: ${wire.message}`);
    this.code = wire.code;
  }
}

type Request = { [T in ClientMessage['type']]: Omit<Extract<ClientMessage, { type: T }>, 'requestId'> }[ClientMessage['type']];

/** Replies the server sends for each request type. */
type ReplyOf<R extends Request> = R extends { type: 'create_transport' }
  ? ServerMessageOf<'offer'> & { kind: 'transport' }
  : R extends { type: 'consume' }
    ? ServerMessageOf<'offer'> & { kind: 'consumer' }
    : R extends { type: 'answer'; kind: 'produce' }
      ? ServerMessageOf<'produced'>
      : R extends { type: 'comment' }
        ? ServerMessageOf<'comment_ack'>
        : ServerMessage;

/**
 * A lean client of the stream WebSocket for load generation: keeps no message
 * history (chatters receive thousands per second), lets a raw-text hook take
 * hot messages before any JSON parse, and matches replies by request id.
 */
export class SignalingClient {
  readonly ws: WebSocket;
  /** The first message of every session. */
  readonly established: Promise<ServerMessageOf<'connection_established'>>;
  /** Hottest path: sees the frame's bytes before any decoding; return true to consume it. */
  onFrame: ((data: Buffer) => boolean) | null = null;
  /** Hot path: return true to consume a frame without parsing it. */
  onRaw: ((text: string) => boolean) | null = null;
  onMessage: ((msg: ServerMessage) => void) | null = null;
  onClose: ((code: number, reason: string) => void) | null = null;
  readonly #pending = new Map<string, { type: string; resolve: (m: ServerMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    let established!: (m: ServerMessageOf<'connection_established'>) => void;
    let refused!: (e: Error) => void;
    this.established = new Promise((resolve, reject) => {
      established = resolve;
      refused = reject;
    });
    this.established.catch(() => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      if (this.onFrame?.(data)) return;
      const text = data.toString('utf8');
      if (this.onRaw?.(text)) return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(text) as ServerMessage;
      } catch {
        return;
      }
      if (msg.type === 'connection_established') established(msg);
      const requestId = (msg as { requestId?: string }).requestId;
      if (requestId !== undefined) {
        const waiter = this.#pending.get(requestId);
        if (waiter) {
          this.#pending.delete(requestId);
          clearTimeout(waiter.timer);
          if (msg.type === 'error') waiter.reject(new RequestError(waiter.type, msg.error));
          else waiter.resolve(msg);
          return;
        }
      }
      if (msg.type === 'error' && requestId === undefined) refused(new RequestError('connect', msg.error));
      this.onMessage?.(msg);
    });
    ws.on('close', (code, reason) => {
      this.#closed = true;
      refused(new Error(`socket closed (${code} ${reason.toString()}) before connection_established`));
      for (const [, w] of this.#pending) {
        clearTimeout(w.timer);
        w.reject(new Error(`socket closed (${code}) before the reply to ${w.type}`));
      }
      this.#pending.clear();
      this.onClose?.(code, reason.toString());
    });
    ws.on('error', () => {});
  }

  /** Opens the socket; resolves once the server said `connection_established`. */
  static async connect(url: string, opts: { token?: string | undefined; timeoutMs?: number } = {}): Promise<SignalingClient> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const timeoutMs = opts.timeoutMs ?? 15_000;
    // The server is trusted here; skipping UTF-8 validation saves the chatters a pass over every frame.
    const client = new SignalingClient(new WebSocket(url, { headers, handshakeTimeout: timeoutMs, perMessageDeflate: false, skipUTF8Validation: true }));
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      client.ws.once('error', reject);
      client.ws.once('close', (code) => reject(new Error(`socket closed (${code}) while connecting`)));
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.established,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no connection_established')), timeoutMs);
        }),
      ]);
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request; resolves with its reply, rejects with `RequestError` on an `error` reply. */
  request<R extends Request>(message: R, timeoutMs = 15_000): Promise<ReplyOf<R>> {
    const requestId = `q${this.#nextId++}`;
    return new Promise<ReplyOf<R>>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error(`socket closed; cannot send ${message.type}`));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new Error(`no reply to ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(requestId, { type: message.type, resolve: resolve as (m: ServerMessage) => void, reject, timer });
      this.ws.send(JSON.stringify({ ...message, requestId }));
    });
  }

  /** Fire and forget, with the caller's own request id (chat: the id is matched by the caller). */
  sendRaw(text: string): void {
    if (!this.#closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }

  /** For messages the caller waits on outside request/reply (e.g. `viewers_update`). */
  static is<T extends ServerMessageType>(msg: ServerMessage, type: T): msg is ServerMessageOf<T> {
    return msg.type === type;
  }
}
