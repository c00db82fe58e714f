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
  sent: number;
  acked: number;
  /** Error replies by code (e.g. chat_rate_limited): the server refused, nothing to deliver. */
  rejected: Record<string, number>;
  /** Neither acked nor refused by the end of the drain. */
  unanswered: number;
  /** Due while no socket of the group was open: never sent. */
  unsendable: number;
  ackedSeqs: Uint8Array;
  ack: SerializedHistogram;
  delivery: SerializedHistogram;
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

export class ChatGroup {
  readonly #o: ChatGroupOptions;
  readonly #sockets: Socket[] = [];
  readonly #pending = new Map<number, number>();
  readonly #acked = new BitSet();
  readonly #ack = new LatencyHistogram();
  readonly #delivery = new LatencyHistogram();
  readonly #rejected: Record<string, number> = {};
  readonly #contentRe: RegExp;
  #connectFailed = 0;
  #sent = 0;
  #ackedCount = 0;
  #rejectedCount = 0;
  #delivered = 0;
  #duplicates = 0;
  #next = 0;
  #unsendable = 0;
  #timer: NodeJS.Timeout | null = null;
  #maxSendLagMs = 0;

  constructor(o: ChatGroupOptions) {
    this.#o = o;
    this.#contentRe = new RegExp(`"content":"lt ${o.tag} (\\d+) ([\\d.]+)"`);
  }

  async connect(): Promise<{ connected: number; failed: number }> {
    const queue = [...this.#o.tokens];
    const worker = async () => {
      for (let token = queue.shift(); token !== undefined; token = queue.shift()) {
        try {
          const client = await SignalingClient.connect(this.#o.wsUrl, { token, timeoutMs: 30_000 });
          const socket: Socket = { client, received: new BitSet(), open: true };
          client.onRaw = (text) => this.#onRaw(socket, text);
          client.onClose = () => {
            socket.open = false;
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

  #onRaw(socket: Socket, text: string): boolean {
    if (text.startsWith('{"type":"comment",')) {
      const m = this.#contentRe.exec(text);
      if (!m) return true;
      const at = nowMs();
      if (socket.received.add(Number(m[1]))) {
        this.#delivered++;
        this.#delivery.record(at - Number(m[2]));
      } else {
        this.#duplicates++;
      }
      return true;
    }
    if (text.startsWith('{"type":"comment_ack"')) {
      const id = /"requestId":"k(\d+)"/.exec(text);
      if (id) this.#settle(Number(id[1]), null);
      return true;
    }
    if (text.startsWith('{"type":"error"')) {
      const msg = JSON.parse(text) as { requestId?: string; error: { code: string } };
      if (msg.requestId?.startsWith('k')) this.#settle(Number(msg.requestId.slice(1)), msg.error.code);
      return true;
    }
    // viewers_update, chat_history, presence: not measured here.
    return true;
  }

  #settle(seq: number, errorCode: string | null): void {
    const sentAt = this.#pending.get(seq);
    if (sentAt === undefined) return;
    this.#pending.delete(seq);
    if (errorCode === null) {
      this.#ack.record(nowMs() - sentAt);
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
    const tick = () => {
      const now = nowMs();
      const due = Math.floor((Math.min(now, stopAt) - startAt) * (rate / 1000));
      if (due > this.#sent + 1) this.#maxSendLagMs = Math.max(this.#maxSendLagMs, ((due - this.#sent - 1) * 1000) / rate);
      while (this.#sent < due) this.#sendOne();
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
    const complete = this.#sockets.filter((s) => s.open);
    const result: ChatGroupResult = {
      sockets: this.#o.tokens.length,
      connectFailed: this.#connectFailed,
      dropped: this.#sockets.length - complete.length,
      sent: this.#sent,
      acked: this.#ackedCount,
      rejected: { ...this.#rejected },
      unanswered: this.#pending.size,
      unsendable: this.#unsendable,
      ackedSeqs: this.#acked.bytes,
      ack: this.#ack.toJSON(),
      delivery: this.#delivery.toJSON(),
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
  sent: number;
  acked: number;
  rejected: Record<string, number>;
  unanswered: number;
  unsendable: number;
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
  const rejected: Record<string, number> = {};
  for (const r of results) {
    ack.merge(r.ack);
    delivery.merge(r.delivery);
    for (const [code, n] of Object.entries(r.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
  }
  const expectedDeliveries = ackedCount * receivers;
  const sum = (f: (r: ChatGroupResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    sockets: sum((r) => r.sockets),
    connectFailed: sum((r) => r.connectFailed),
    dropped: sum((r) => r.dropped),
    sent: sum((r) => r.sent),
    acked: ackedCount,
    rejected,
    unanswered: sum((r) => r.unanswered),
    unsendable: sum((r) => r.unsendable),
    receivers,
    expectedDeliveries,
    delivered,
    lost: expectedDeliveries - delivered,
    deliveredUnacked: receivedTotal - delivered,
    duplicates: sum((r) => r.duplicates),
    ack: ack.summary(),
    delivery: delivery.summary(),
    maxSendLagMs: Math.max(0, ...results.map((r) => r.maxSendLagMs)),
  };
}
