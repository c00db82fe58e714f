import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { findStreamKeyOwner, setStreamKey, type Db, type StreamKeyOwner } from '@redred/db';
import { hashToken } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { SlidingWindowLimiter } from '../security/rateLimiter.ts';

/** Recognisable in a config file or a leaked paste, and 256 random bits after the prefix. */
export const STREAM_KEY_PREFIX = 'live_';
const STREAM_KEY_PATTERN = /^live_[A-Za-z0-9_-]{43}$/;

/** Wrong keys from one address, like failed logins: guessing is slow, a typo is not punished. */
export const STREAM_KEY_LIMITS = { failuresPerIp: 10, failureWindowMs: 15 * 60 * 1000 } as const;

export function newStreamKey(): string {
  return STREAM_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256, like session tokens: a 256-bit secret needs no slow hash, and the lookup is by index. */
export const hashStreamKey = hashToken;

/** Makes (or replaces) the channel's key; returns it — the only time it is seen in clear. */
export async function rotateStreamKey(db: Db, channelId: number, now: number): Promise<string> {
  const key = newStreamKey();
  await setStreamKey(db, channelId, hashStreamKey(key), now);
  return key;
}

/** RFC 6750 §3: the challenge a WHIP client gets with a 401. */
export function bearerChallenge(error?: 'invalid_token'): string {
  return error ? `Bearer realm="whip", error="${error}"` : 'Bearer realm="whip"';
}

export class StreamKeyError extends AppError {
  readonly challenge: string;

  constructor(message: string, challenge: string) {
    super('unauthorized', message);
    this.challenge = challenge;
  }
}

/**
 * Checks `Authorization: Bearer <stream key>` for WHIP. Owns the per-address
 * failure limiter (and its prune timer): close() stops it.
 */
export class StreamKeyAuth {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #failures = new SlidingWindowLimiter(STREAM_KEY_LIMITS.failuresPerIp, STREAM_KEY_LIMITS.failureWindowMs);
  readonly #pruneTimer: NodeJS.Timeout;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#pruneTimer = setInterval(() => this.#failures.prune(this.#now()), 60_000);
    this.#pruneTimer.unref();
  }

  /** The channel the request's key publishes to; 401 (with its challenge) or 429 otherwise. */
  async authenticate(request: FastifyRequest): Promise<StreamKeyOwner & { keyHash: string }> {
    const now = this.#now();
    const limited = this.#failures.check(request.ip, now);
    if (!limited.ok) {
      throw new AppError('rate_limited', 'too many wrong stream keys from this address; try again later', { retryAfterSeconds: Math.ceil(limited.retryAfterMs / 1000) });
    }
    const header = request.headers.authorization;
    if (!header) throw new StreamKeyError('send your stream key as "Authorization: Bearer <key>"', bearerChallenge());
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const key = match?.[1];
    const keyHash = key && STREAM_KEY_PATTERN.test(key) ? hashStreamKey(key) : undefined;
    const owner = keyHash ? await findStreamKeyOwner(this.#db, keyHash) : undefined;
    if (!owner || !keyHash) {
      this.#failures.take(request.ip, now);
      throw new StreamKeyError('this stream key is not valid (it may have been rotated); copy the current one from the studio', bearerChallenge('invalid_token'));
    }
    return { ...owner, keyHash };
  }

  /** Is this key hash still the channel's current one? (A rotation disconnects a publisher using the old key.) */
  async stillValid(keyHash: string, channelId: number): Promise<boolean> {
    const owner = await findStreamKeyOwner(this.#db, keyHash);
    return owner?.channelId === channelId;
  }

  close(): void {
    clearInterval(this.#pruneTimer);
  }
}
