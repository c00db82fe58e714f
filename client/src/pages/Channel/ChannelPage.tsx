import { useEffect, useState } from 'preact/hooks';
import type { ChannelBody } from '@redred/api/protocol';
import { useDocumentTitle } from '../../lib/hooks.ts';
import { describeEndReason, formatDuration } from '../../lib/format.ts';
import { ApiError, restApi } from '../../net/api.ts';
import { Link } from '../../router.tsx';
import { RecordingList } from '../../components/RecordingList.tsx';
import { WatchPage } from '../Watch/WatchPage.tsx';

/**
 * A streamer's stable address (`/c/<username>`, and `/embed/<username>` for other
 * sites to frame): the stream on now, or "offline" with the past streams.
 * The channel's replays (recordings) are listed beside the past streams.
 */
export function ChannelPage({ username, embed = false }: { username: string; embed?: boolean }) {
  useDocumentTitle(username);
  const [channel, setChannel] = useState<ChannelBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    restApi.channel(username).then(
      (body) => !cancelled && setChannel(body),
      (err: unknown) => !cancelled && setError(err instanceof ApiError && err.code === 'user_not_found' ? 'No channel by that name.' : 'The channel could not be loaded.'),
    );
    return () => {
      cancelled = true;
    };
  }, [username]);

  if (error) {
    return (
      <div class="page">
        <div class="empty card" data-testid="channel-error">
          <h1>{error}</h1>
        </div>
      </div>
    );
  }
  if (!channel) return null;
  const current = channel.current;
  if (current) return <WatchPage key={current.id} streamId={current.id} />;
  if (embed) {
    return (
      <div class="empty card" data-testid="channel-offline">
        <h1>{channel.channel.username} is offline</h1>
      </div>
    );
  }
  return (
    <div class="page stack" data-testid="channel-page">
      <div class="card panel stack" data-testid="channel-offline">
        <h1>{channel.channel.username}</h1>
        <p class="muted">Offline. This page shows the stream when {channel.channel.username} goes live.</p>
      </div>
      <section class="card panel stack" aria-labelledby="replays">
        <h2 id="replays">Replays</h2>
        <RecordingList username={channel.channel.username} />
      </section>
      <section class="card panel stack" aria-labelledby="past-streams">
        <h2 id="past-streams">Past streams</h2>
        {channel.past.length === 0 ? <p class="muted">None yet.</p> : null}
        <ul class="admin-list" data-testid="past-streams">
          {channel.past.map((s) => (
            <li key={s.id} class="admin-list__item">
              <Link href={`/live/${s.id}`}>{s.title}</Link>
              <span class="muted">
                {new Date(s.startedAt ?? s.createdAt).toLocaleString()}
                {s.startedAt && s.endedAt ? ` · ${formatDuration(s.endedAt - s.startedAt)}` : ' · never went live'}
                {` · peak ${s.peakViewers}`}
                {s.endReason ? ` · ${describeEndReason(s.endReason)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
