// What the room bus puts on Redis and reads back: the script that numbers and
// publishes a stream's envelope, the flush markers, and the parsing of both channels.
import type { Result } from 'ioredis';
import type { RoomEnvelope, RoomEvent, SiteEvent } from './bus.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    redredRoomPublish(seqKey: string, channel: string, eventJson: string, streamId: string, seqTtlMs: string): Result<number, Context>;
  }
}

/**
 * One round trip, atomic in Redis: the stream's next `seq` and the PUBLISH of
 * the envelope carrying it. Redis runs scripts one at a time and delivers a
 * channel's messages in PUBLISH order, so every subscriber on every node sees
 * one order, and seq counts it. The counter's TTL is refreshed by every
 * event; a stream silent for that long has no room anywhere.
 */
export const PUBLISH_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[1], '{"streamId":' .. ARGV[3] .. ',"seq":' .. seq .. ',"event":' .. ARGV[2] .. '}')
return seq
`;

export const SEQ_TTL_MS = 24 * 3600 * 1000;

/** The marker `flush()` sends through a channel; it comes back behind everything published before it. */
export function encodeBarrier(token: string): string {
  return JSON.stringify({ barrier: token });
}

/** A message on a stream's channel: a flush marker, that stream's envelope, or null when it is neither. */
export function decodeRoomMessage(text: string, streamId: number): { barrier: string } | { envelope: RoomEnvelope } | null {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    msg = undefined;
  }
  const m = msg as { barrier?: unknown; streamId?: unknown; seq?: unknown; event?: unknown } | undefined;
  if (typeof m?.barrier === 'string') return { barrier: m.barrier };
  if (!m || m.streamId !== streamId || typeof m.seq !== 'number' || typeof m.event !== 'object' || m.event === null) return null;
  return { envelope: { streamId, seq: m.seq, event: m.event as RoomEvent } };
}

/** A message on the site channel: a flush marker, a site event, or null when it is neither. */
export function decodeSiteMessage(text: string): { barrier: string } | { event: SiteEvent } | null {
  try {
    const m = JSON.parse(text) as (Partial<SiteEvent> & { barrier?: unknown }) | null;
    if (typeof m?.barrier === 'string') return { barrier: m.barrier };
    if (m?.kind === 'signed_out' && Number.isSafeInteger(m.userId) && typeof m.reason === 'string') return { event: { kind: 'signed_out', userId: m.userId!, reason: m.reason } };
  } catch {
    // Not JSON: neither.
  }
  return null;
}
