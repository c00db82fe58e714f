import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, type WebhookEvent } from './events.ts';

export interface WebhookSenderOptions {
  urls: readonly string[];
  secret: string;
  log: FastifyBaseLogger;
  now?: () => number;
  /** Waits before each retry; the number of entries is the number of retries. */
  backoffMs?: readonly number[];
  /** One attempt's time limit. */
  timeoutMs?: number;
}

/** 1 s, 5 s, 30 s, 2 min, 10 min: a receiver down for a deploy still gets the event. */
export const DEFAULT_BACKOFF_MS = [1_000, 5_000, 30_000, 120_000, 600_000] as const;

/** The signature a receiver recomputes: HMAC-SHA256 over `<timestamp>.<body>` with the shared secret. */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

interface Delivery {
  id: string;
  url: string;
  type: WebhookEvent['type'];
  body: string;
  attempt: number;
}

/**
 * Sends webhook events to every configured URL, signed, retried with backoff.
 * `emit` never blocks or throws: the request that caused the event has already
 * been answered by the time the first attempt leaves. Owns its retry timers and
 * in-flight requests; `close()` drops both (idempotent).
 */
export class WebhookSender {
  readonly #opts: Required<Omit<WebhookSenderOptions, 'log'>> & { log: FastifyBaseLogger };
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inflight = new Set<AbortController>();
  #closed = false;

  constructor(opts: WebhookSenderOptions) {
    this.#opts = { now: Date.now, backoffMs: DEFAULT_BACKOFF_MS, timeoutMs: 10_000, ...opts };
  }

  get closed(): boolean {
    return this.#closed;
  }

  emit(event: WebhookEvent): void {
    if (this.#closed || this.#opts.urls.length === 0) return;
    const id = randomUUID();
    const body = JSON.stringify({ id, type: event.type, createdAt: this.#opts.now(), data: event.data });
    for (const url of this.#opts.urls) this.#schedule({ id, url, type: event.type, body, attempt: 0 }, 0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#inflight) c.abort();
    this.#inflight.clear();
  }

  #schedule(d: Delivery, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#attempt(d);
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
  }

  async #attempt(d: Delivery): Promise<void> {
    if (this.#closed) return;
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.#opts.timeoutMs);
    this.#inflight.add(controller);
    let failure: string;
    try {
      const timestamp = Math.floor(this.#opts.now() / 1000);
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [EVENT_HEADER]: d.type, [DELIVERY_HEADER]: d.id, [SIGNATURE_HEADER]: signWebhook(this.#opts.secret, timestamp, d.body) },
        body: d.body,
        signal: controller.signal,
        redirect: 'error',
      });
      await res.body?.cancel();
      if (res.ok) return;
      failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timeout);
      this.#inflight.delete(controller);
    }
    if (this.#closed) return;
    const wait = this.#opts.backoffMs[d.attempt];
    if (wait === undefined) {
      this.#opts.log.warn({ module: 'webhooks', url: d.url, type: d.type, delivery: d.id, attempts: d.attempt + 1, failure }, 'webhook delivery given up');
      return;
    }
    this.#opts.log.info({ module: 'webhooks', url: d.url, type: d.type, delivery: d.id, attempt: d.attempt + 1, failure, retryInMs: wait }, 'webhook delivery failed; will retry');
    this.#schedule({ ...d, attempt: d.attempt + 1 }, wait);
  }
}
