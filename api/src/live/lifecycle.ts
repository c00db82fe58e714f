import { transitionStream } from '@redred/db';
import { AppError } from '../errors.ts';
import type { LiveContext } from './context.ts';
import type { StreamRoom } from './room.ts';

/** waiting → live, the moment the streamer's video producer exists. */
export async function markLive(ctx: LiveContext, room: StreamRoom): Promise<void> {
  if (room.status !== 'waiting') return;
  const res = await transitionStream(ctx.db, room.streamId, 'live', { now: ctx.now() });
  if (!res.ok) return;
  ctx.log.info({ module: 'lifecycle', streamId: room.streamId }, 'stream is live');
  const { stream } = res;
  ctx.webhooks.emit({ type: 'stream.started', data: { streamId: stream.id, title: stream.title, streamer: { id: room.channelId, username: room.streamerName }, startedAt: stream.started_at ?? ctx.now() } });
  room.publish({ kind: 'stream_live', startedAt: res.stream.started_at ?? ctx.now() });
  await room.presence.sampleNow();
}

/**
 * Ends a stream: the database first (so the end is durable before anyone is told),
 * then `stream_ended` to every peer, then sockets and the router are closed.
 * If the database already says ended (the CLI did it), only the live side is torn down.
 */
export async function endStream(ctx: LiveContext, room: StreamRoom | undefined, streamId: number, reason: string): Promise<{ alreadyEnded: boolean; endedAt: number }> {
  const res = await transitionStream(ctx.db, streamId, 'ended', { now: ctx.now(), reason });
  let endedAt = ctx.now();
  let alreadyEnded = false;
  if (res.ok) {
    endedAt = res.stream.ended_at ?? endedAt;
  } else if (res.reason === 'invalid_transition') {
    alreadyEnded = true;
  } else {
    throw new AppError('stream_not_found', `stream ${streamId} does not exist`);
  }
  if (room) closeEndedRoom(room, reason, endedAt);
  if (res.ok) {
    ctx.log.info({ module: 'lifecycle', streamId, reason }, 'stream ended');
    ctx.webhooks.emit({ type: 'stream.ended', data: { streamId, reason, endedAt } });
  }
  return { alreadyEnded, endedAt };
}

/** The live side of an end the database already holds: every copy of the room tells its peers, then closes. */
export function closeEndedRoom(room: StreamRoom, reason: string, endedAt: number): void {
  room.end(reason, endedAt);
}
