import type { Db } from './database.ts';
import type { StreamWithStreamer } from './streams.ts';

/** A channel's streams in one status set, newest first: the channel page's live stream and its past ones. */
export async function listChannelStreams(db: Db, streamerId: number, input: { ended: boolean; limit: number }): Promise<StreamWithStreamer[]> {
  return db
    .selectFrom('live_streams')
    .innerJoin('users', 'users.id', 'live_streams.streamer_id')
    .selectAll('live_streams')
    .select('users.username as streamer_username')
    .where('live_streams.streamer_id', '=', streamerId)
    .where('live_streams.status', input.ended ? '=' : '!=', 'ended')
    .orderBy('live_streams.id', 'desc')
    .limit(input.limit)
    .execute();
}
