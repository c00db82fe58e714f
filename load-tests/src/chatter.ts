import { SignalingClient } from './signaling.ts';
import { BitSet, LatencyHistogram, nowMs, type SerializedHistogram } from './stats.ts';

/**
 * Chat load: many signed-in sockets, a total send rate spread over them
 * round-robin, and every receiver timing every delivery. A message's content
 * carries the run tag, its sequence number and its send time, so any receiver
 * (in any process on this box) can time it and spot losses and duplicates.
 *
 *   lt <tag> <seq> <sentAt epoch ms>
 */
export interface ChatGroupOptions {
  wsUrl: string;
  /** One bearer token per socket (sockets may share an account). */
  tokens: string[];
  tag: string;
  /** This group's sequence numbers are seqBase + k·seqStride (disjoint across processes). */
  seqBase: number;
  seqStride: number;
  connectConcurrency: number;
}

export interface ChatGroupResult {
  sockets: number;
  connectFailed: number;
  /** Sockets that closed before the end: excluded from loss accounting. */
  dropped: number;
  /** Why they closed: close code and reason (1008 slow consumer: the server cut a socket that fell behind). */
  dropReasons: Record<string, number>;
  sent: number;
  acked: number;
  /** Error replies by code (e.g. chat_rate_limited): the server refused, nothing to deliver. */
  rejected: Record<string, number>;
  /** Neither acked nor refused by the end of the drain. */
  unanswered: number;
  /** Due while no socket of the group was open: never sent. */
  unsendable: number;
  /** Due while the generator was behind schedule: never sent (the achieved rate is below the asked one). */
  skipped: number;
  ackedSeqs: Uint8Array;
  ack: SerializedHistogram;
  delivery: SerializedHistogram;
  toServer: SerializedHistogram;
  fromServer: SerializedHistogram;
  /** Receive bit sets of the sockets that stayed connected through the whole run. */
  receivers: Uint8Array[];
  duplicates: number;
  /** Largest lateness of the send timer (ms): how far the generator fell behind its schedule. */
  maxSendLagMs: number;
}

export interface ChatProgress {
  connected: number;
  sent: number;
  acked: number;
  rejected: number;
  delivered: number;
  ackP99: number | null;
  deliveryP99: number | null;
}

interface Socket {
  client: SignalingClient;
  received: BitSet;
  open: boolean;
}

const SEND_TICK_MS = 10;
/** A late send timer sends at most this many ticks' worth at once; the rest is skipped, not burst (bursts trip per-user limits). */
const MAX_CATCH_UP_TICKS = 3;

const COMMENT = Buffer.from('{"type":"comment",');
/** A batch: several comments in one frame (the server coalesces a room's deliveries). */
const COMMENTS = Buffer.from('{"type":"comments",');
const ACK = Buffer.from('{"type":"comment_ack"');
const ACK_ID = Buffer.from('"requestId":"k');
const ERROR = Buffer.from('{"type":"error"');
const CREATED_AT = Buffer.from('"createdAt":');

function startsWith(data: Buffer, prefix: Buffer): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** A decimal number (digits and one optional dot) starting at `from`. */
function readNumber(data: Buffer, from: number): { value: number; end: number } {
  let value = 0;
  let scale = 0;
  let i = from;
  for (; i < data.length; i++) {
    const c = data[i]!;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (scale) scale *= 10;
    } else if (c === 46 && !scale) {
      scale = 1;
    } else break;
  }
  return { value: scale ? value / scale : value, end: i };
}

export class ChatGroup {
  readonly #o: ChatGroupOptions;
  readonly #sockets: Socket[] = [];
  readonly #pending = new Map<number, number>();
  readonly #acked = new BitSet();
  readonly #ack = new LatencyHistogram();
  readonly #delivery = new LatencyHistogram();
  /** Send → the server's `createdAt` (when it handled the comment; ms resolution): network and the server's queue. */
  readonly #toServer = new LatencyHistogram();
  /** The server's `createdAt` → arrival at a receiver: the commit, the broadcast fan-out and the receivers' queues. */
  readonly #fromServer = new LatencyHistogram();
  readonly #rejected: Record<string, number> = {};
  /** `"content":"lt <tag> ` as bytes. */
  readonly #needle: Buffer;
  #connectFailed = 0;
  #sent = 0;
  #ackedCount = 0;
  #rejectedCount = 0;
  #delivered = 0;
  #duplicates = 0;
  #next = 0;
  #unsendable = 0;
  #skipped = 0;
  #finishing = false;
  readonly #dropReasons: Record<string, number> = {};
  #timer: NodeJS.Timeout | null = null;
  #maxSendLagMs = 0;

  constructor(o: ChatGroupOptions) {
    this.#o = o;
    this.#needle = Buffer.from(`"content":"lt ${o.tag} `);
  }

  async connect(): Promise<{ connected: number; failed: number }> {
    const queue = [...this.#o.tokens];
    const worker = async () => {
      for (let token = queue.shift(); token !== undefined; token = queue.shift()) {
        try {
          const client = await SignalingClient.connect(this.#o.wsUrl, { token, timeoutMs: 30_000 });
          const socket: Socket = { client, received: new BitSet(), open: true };
          client.onFrame = (data) => this.#onFrame(socket, data);
          client.onClose = (code, reason) => {
            if (!socket.open) return;
            socket.open = false;
            if (this.#finishing) return;
            const key = `${code}${reason ? ` ${reason}` : ''}`;
            this.#dropReasons[key] = (this.#dropReasons[key] ?? 0) + 1;
          };
          this.#sockets.push(socket);
        } catch {
          this.#connectFailed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#o.connectConcurrency) }, worker));
    return { connected: this.#sockets.length, failed: this.#connectFailed };
  }

  /** Runs for every frame every chat socket receives (thousands per second): bytes only, no string, no JSON. */
  #onFrame(socket: Socket, data: Buffer): boolean {
    if (startsWith(data, COMMENT) || startsWith(data, COMMENTS)) {
      const at = nowMs();
      // Each comment's content holds the needle once; createdAt follows it within the same comment.
      for (let i = data.indexOf(this.#needle); i >= 0; i = data.indexOf(this.#needle, i + 1)) {
        const seq = readNumber(data, i + this.#needle.length);
        const sentAt = readNumber(data, seq.end + 1);
        if (socket.received.add(seq.value)) {
          this.#delivered++;
          this.#delivery.record(at - sentAt.value);
          const c = data.indexOf(CREATED_AT, sentAt.end);
          if (c >= 0) this.#fromServer.record(at - readNumber(data, c + CREATED_AT.length).value);
        } else {
          this.#duplicates++;
        }
      }
      return true;
    }
    if (startsWith(data, ACK)) {
      const i = data.indexOf(ACK_ID);
      const c = data.indexOf(CREATED_AT);
      if (i >= 0) this.#settle(readNumber(data, i + ACK_ID.length).value, null, c >= 0 ? readNumber(data, c + CREATED_AT.length).value : null);
      return true;
    }
    if (startsWith(data, ERROR)) {
      const msg = JSON.parse(data.toString('utf8')) as { requestId?: string; error: { code: string } };
      if (msg.requestId?.startsWith('k')) this.#settle(Number(msg.requestId.slice(1)), msg.error.code);
      return true;
    }
    // viewers_update, chat_history, presence: not measured here.
    return true;
  }

  #settle(seq: number, errorCode: string | null, createdAt: number | null = null): void {
    const sentAt = this.#pending.get(seq);
    if (sentAt === undefined) return;
    this.#pending.delete(seq);
    if (errorCode === null) {
      this.#ack.record(nowMs() - sentAt);
      if (createdAt !== null) this.#toServer.record(createdAt - sentAt);
      this.#acked.add(seq);
      this.#ackedCount++;
    } else {
      this.#rejected[errorCode] = (this.#rejected[errorCode] ?? 0) + 1;
      this.#rejectedCount++;
    }
  }

  /** Sends `rate` messages per second in total from this group, from `startAt` until `stopAt` (epoch ms). */
  startSending(rate: number, startAt: number, stopAt: number): void {
    if (rate <= 0 || this.#sockets.length === 0) return;
    const maxBurst = Math.max(1, Math.ceil((rate * SEND_TICK_MS * MAX_CATCH_UP_TICKS) / 1000));
    let scheduled = 0;
    const tick = () => {
      const now = nowMs();
      const due = Math.max(0, Math.floor((Math.min(now, stopAt) - startAt) * (rate / 1000)));
      const backlog = due - scheduled;
      if (backlog > 1) this.#maxSendLagMs = Math.max(this.#maxSendLagMs, ((backlog - 1) * 1000) / rate);
      const sendNow = Math.min(backlog, maxBurst);
      this.#skipped += backlog - sendNow;
      scheduled = due;
      for (let i = 0; i < sendNow; i++) this.#sendOne();
      if (now >= stopAt) this.stopSending();
    };
    this.#timer = setInterval(tick, SEND_TICK_MS);
  }

  #sendOne(): void {
    // Round-robin over sockets still open.
    for (let tries = 0; tries < this.#sockets.length; tries++) {
      const socket = this.#sockets[this.#next++ % this.#sockets.length]!;
      if (!socket.open) continue;
      const seq = this.#o.seqBase + this.#sent * this.#o.seqStride;
      const sentAt = nowMs();
      this.#pending.set(seq, sentAt);
      socket.client.sendRaw(JSON.stringify({ type: 'comment', requestId: `k${seq}`, content: `lt ${this.#o.tag} ${seq} ${sentAt.toFixed(2)}` }));
      this.#sent++;
      return;
    }
    this.#sent++;
    this.#unsendable++;
  }

  stopSending(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  progress(): ChatProgress {
    return {
      connected: this.#sockets.filter((s) => s.open).length,
      sent: this.#sent,
      acked: this.#ackedCount,
      rejected: this.#rejectedCount,
      delivered: this.#delivered,
      ackP99: this.#ack.percentile(99),
      deliveryP99: this.#delivery.percentile(99),
    };
  }

  /** Call after the drain; closes the sockets. */
  finish(): ChatGroupResult {
    this.stopSending();
    this.#finishing = true;
    const complete = this.#sockets.filter((s) => s.open);
    const result: ChatGroupResult = {
      sockets: this.#o.tokens.length,
      connectFailed: this.#connectFailed,
      dropped: this.#sockets.length - complete.length,
      dropReasons: { ...this.#dropReasons },
      sent: this.#sent,
      acked: this.#ackedCount,
      rejected: { ...this.#rejected },
      unanswered: this.#pending.size,
      unsendable: this.#unsendable,
      skipped: this.#skipped,
      ackedSeqs: this.#acked.bytes,
      ack: this.#ack.toJSON(),
      delivery: this.#delivery.toJSON(),
      toServer: this.#toServer.toJSON(),
      fromServer: this.#fromServer.toJSON(),
      receivers: complete.map((s) => s.received.bytes),
      duplicates: this.#duplicates,
      maxSendLagMs: this.#maxSendLagMs,
    };
    for (const s of this.#sockets) s.client.close();
    return result;
  }
}

export interface ChatTotals {
  sockets: number;
  connectFailed: number;
  dropped: number;
  dropReasons: Record<string, number>;
  sent: number;
  acked: number;
  rejected: Record<string, number>;
  unanswered: number;
  unsendable: number;
  skipped: number;
  /** Sockets that stayed connected through the run: each should receive every acked message. */
  receivers: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  /** Received but never acked to the sender (the ack was still in flight at the end). */
  deliveredUnacked: number;
  duplicates: number;
  ack: ReturnType<LatencyHistogram['summary']>;
  delivery: ReturnType<LatencyHistogram['summary']>;
  /** Where delivery time goes: send → server handled it, and server handled it → receiver (server clock, ms resolution). */
  toServer: ReturnType<LatencyHistogram['summary']>;
  fromServer: ReturnType<LatencyHistogram['summary']>;
  maxSendLagMs: number;
}

/**
 * Merges the groups' results: every acked message should reach every receiver
 * that was connected through the run. `expectedDeliveries = acked × receivers`
 * and `delivered + lost = expectedDeliveries` by construction.
 */
export function mergeChatResults(results: readonly ChatGroupResult[]): ChatTotals {
  const acked = new BitSet();
  for (const r of results) acked.union(new BitSet(r.ackedSeqs));
  const ackedCount = acked.size;
  let delivered = 0;
  let receivedTotal = 0;
  let receivers = 0;
  for (const r of results) {
    for (const bits of r.receivers) {
      const set = new BitSet(bits);
      receivers++;
      delivered += set.intersectionSize(acked);
      receivedTotal += set.size;
    }
  }
  const ack = new LatencyHistogram();
  const delivery = new LatencyHistogram();
  const toServer = new LatencyHistogram();
  const fromServer = new LatencyHistogram();
  const rejected: Record<string, number> = {};
  const dropReasons: Record<string, number> = {};
  for (const r of results) {
    for (const [k, n] of Object.entries(r.dropReasons)) dropReasons[k] = (dropReasons[k] ?? 0) + n;
    ack.merge(r.ack);
    delivery.merge(r.delivery);
    toServer.merge(r.toServer);
    fromServer.merge(r.fromServer);
    for (const [code, n] of Object.entries(r.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
  }
  const expectedDeliveries = ackedCount * receivers;
  const sum = (f: (r: ChatGroupResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    sockets: sum((r) => r.sockets),
    connectFailed: sum((r) => r.connectFailed),
    dropped: sum((r) => r.dropped),
    dropReasons,
    sent: sum((r) => r.sent),
    acked: ackedCount,
    rejected,
    unanswered: sum((r) => r.unanswered),
    unsendable: sum((r) => r.unsendable),
    skipped: sum((r) => r.skipped),
    receivers,
    expectedDeliveries,
    delivered,
    lost: expectedDeliveries - delivered,
    deliveredUnacked: receivedTotal - delivered,
    duplicates: sum((r) => r.duplicates),
    ack: ack.summary(),
    delivery: delivery.summary(),
    toServer: toServer.summary(),
    fromServer: fromServer.summary(),
    maxSendLagMs: Math.max(0, ...results.map((r) => r.maxSendLagMs)),
  };
}
