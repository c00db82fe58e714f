import { createHash, timingSafeEqual } from 'node:crypto';
import type { OriginLink, PipedProducer, PipeEndpoint } from '@redred/sfu';
import type { FastifyBaseLogger } from 'fastify';
import { ClusterError, type ClusterErrorCode } from './errors.ts';

/** The header node-to-node calls carry the cluster secret in (never a cookie or a bearer token: those are users'). */
export const CLUSTER_SECRET_HEADER = 'x-redred-cluster-secret';

/** A node that does not answer within this long is unreachable for this call. */
const CALL_TIMEOUT_MS = 5000;

/** Constant-time comparison of the presented secret (hashed first, so lengths leak nothing either). */
export function isClusterSecret(presented: string | undefined, secret: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Where an edge asks the origin for a stream's media: `/internal/cluster/streams/:id/pipes…`. */
export function pipesPath(streamId: number, ...rest: string[]): string {
  return ['/internal/cluster/streams', String(streamId), 'pipes', ...rest.map(encodeURIComponent)].join('/');
}

/**
 * An edge's link to its stream's origin node, over the origin's internal HTTP
 * API with the cluster secret. The sfu drives it (RemoteOrigin): open a pipe,
 * consume producers through it, close it.
 */
export class HttpOriginLink implements OriginLink {
  readonly #originUrl: () => Promise<string>;
  readonly #streamId: number;
  readonly #edgeNodeId: string;
  readonly #secret: string;
  readonly #log: FastifyBaseLogger;

  /** `originUrl` looks the origin node's internal URL up (the registry) at each call. */
  constructor(opts: { originUrl: () => Promise<string>; streamId: number; edgeNodeId: string; secret: string; log: FastifyBaseLogger }) {
    this.#originUrl = opts.originUrl;
    this.#streamId = opts.streamId;
    this.#edgeNodeId = opts.edgeNodeId;
    this.#secret = opts.secret;
    this.#log = opts.log;
  }

  async open(edge: PipeEndpoint): Promise<{ pipeId: string; origin: PipeEndpoint }> {
    return this.#call('POST', pipesPath(this.#streamId), { edgeNodeId: this.#edgeNodeId, endpoint: edge });
  }

  async consume(pipeId: string, producerId: string): Promise<PipedProducer> {
    return this.#call('POST', pipesPath(this.#streamId, pipeId, 'consumers'), { producerId });
  }

  close(pipeId: string): void {
    this.#call('DELETE', pipesPath(this.#streamId, pipeId)).catch((err: unknown) => {
      // The origin may be gone: its end closed with it.
      this.#log.debug({ err, streamId: this.#streamId, pipeId }, 'could not tell the origin a pipe closed');
    });
  }

  async #call<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const base = (await this.#originUrl()).replace(/\/+$/, '');
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { [CLUSTER_SECRET_HEADER]: this.#secret, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ClusterError('node_unreachable', `${method} ${base}${path}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      let code: ClusterErrorCode = 'node_unreachable';
      let message = `${method} ${path}: HTTP ${res.status}`;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: ClusterErrorCode; message?: string } };
        if (parsed.error?.code) code = parsed.error.code;
        if (parsed.error?.message) message = `${message}: ${parsed.error.message}`;
      } catch {
        // Not our error format (a proxy in between?): keep the status.
      }
      throw new ClusterError(code, message);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
