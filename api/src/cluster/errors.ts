/** Why something between nodes failed; internal calls carry the code in `{ error: { code, message } }`. */
export type ClusterErrorCode =
  /** Redis cannot be reached. */
  | 'cluster_unavailable'
  /** Another node did not answer, or answered with an error. */
  | 'node_unreachable'
  /** A node-to-node call without the cluster secret. */
  | 'cluster_forbidden'
  /** Asked for a stream's media, this node is not (or no longer) its origin. */
  | 'not_origin'
  /** No such pipe on the origin (closed, or the origin restarted). */
  | 'pipe_not_found'
  /** The producer asked for does not exist on the origin. */
  | 'producer_not_found'
  /** A node-to-node request that does not parse. */
  | 'bad_request';

const STATUS: Record<ClusterErrorCode, number> = {
  cluster_unavailable: 503,
  node_unreachable: 502,
  cluster_forbidden: 403,
  not_origin: 409,
  pipe_not_found: 404,
  producer_not_found: 404,
  bad_request: 400,
};

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get statusCode(): number {
    return STATUS[this.code];
  }

  toWire(): { code: ClusterErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
