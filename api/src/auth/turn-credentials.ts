import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/index.ts';
import { ConfigError } from '../config-error.ts';

/**
 * TURN for viewers and streamers whose networks block UDP or direct media:
 * coturn's `use-auth-secret` mode ("A REST API for access to TURN services",
 * draft-uberti-behave-turn-rest). The server and coturn share a secret; each
 * connection gets its own username `<expiry unix seconds>:<user id or anon>`
 * and credential base64(HMAC-SHA1(secret, username)). coturn checks both with
 * no database and refuses a new allocation once the expiry has passed.
 */
export interface TurnConfig {
  /** `turn:`/`turns:` URLs (credentials attached) and `stun:` URLs (none needed). */
  urls: string[];
  secret: string;
  /**
   * Lifetime of a credential. coturn checks the expiry when an allocation is
   * made, not on its refreshes, so this bounds how long a leaked credential
   * opens new relays; it must also outlast a stream (an ICE restart late in a
   * stream makes a new allocation with the credential of its socket).
   */
  ttlSeconds: number;
}

/** 6 h: longer than the longest stream (SWEEP_MAX_LIVE_MS, 4 h), short enough to be worthless a day later. */
export const DEFAULT_TURN_TTL_SECONDS = 6 * 3600;
const MIN_SECRET_LENGTH = 16;
const ICE_URL = /^(stun|turn|turns):[^\s,?]+(\?transport=(udp|tcp))?$/;

/** TURN_URLS, TURN_SECRET, TURN_CREDENTIAL_TTL_S; undefined when TURN is not configured. */
export function parseTurnConfig(env: NodeJS.ProcessEnv): TurnConfig | undefined {
  const urls = (env.TURN_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const secret = env.TURN_SECRET ?? '';
  if (urls.length === 0) {
    if (secret) throw new ConfigError('TURN_SECRET is set but TURN_URLS is empty: say where coturn listens');
    return undefined;
  }
  for (const url of urls) {
    if (!ICE_URL.test(url)) throw new ConfigError(`TURN_URLS: "${url}" is not a stun:, turn: or turns: URL (host[:port][?transport=udp|tcp])`);
  }
  if (urls.some((u) => !u.startsWith('stun:')) && secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`TURN_SECRET must be coturn's static-auth-secret, at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 32)`);
  }
  const rawTtl = env.TURN_CREDENTIAL_TTL_S;
  const ttlSeconds = rawTtl === undefined || rawTtl === '' ? DEFAULT_TURN_TTL_SECONDS : Number(rawTtl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 7 * 86400) {
    throw new ConfigError(`TURN_CREDENTIAL_TTL_S must be an integer in [60, 604800], got "${rawTtl}"`);
  }
  return { urls, secret, ttlSeconds };
}

/** coturn's credential for `username`: base64(HMAC-SHA1(static-auth-secret, username)). */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * The ICE servers one connection is given (`connection_established.iceServers`):
 * the STUN URLs as they are, the TURN URLs with a credential that expires
 * `ttlSeconds` from `nowMs`. No TURN configured: none (the SFU is reachable
 * directly or not at all).
 */
export function iceServersFor(turn: TurnConfig | undefined, userId: number | null, nowMs: number): IceServer[] {
  if (!turn) return [];
  const stun = turn.urls.filter((u) => u.startsWith('stun:'));
  const relays = turn.urls.filter((u) => !u.startsWith('stun:'));
  const servers: IceServer[] = [];
  if (stun.length > 0) servers.push({ urls: stun });
  if (relays.length > 0) {
    const username = `${Math.floor(nowMs / 1000) + turn.ttlSeconds}:${userId ?? 'anon'}`;
    servers.push({ urls: relays, username, credential: turnCredential(turn.secret, username) });
  }
  return servers;
}
