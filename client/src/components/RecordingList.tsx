import { useEffect, useState } from 'preact/hooks';
import type { RecordingInfo } from '@redred/api/protocol';
import { formatBytes, formatDuration } from '../lib/format.ts';
import { restApi } from '../net/api.ts';
import { Link } from '../router.tsx';

/** A channel's past streams with a replay, newest first; each links to the ended stream's page, which plays it. */
export function RecordingList({ username }: { username: string }) {
  const [recordings, setRecordings] = useState<RecordingInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    restApi.channelRecordings(username).then(
      (body) => !cancelled && setRecordings(body.recordings.filter((r) => r.url)),
      (err: unknown) => !cancelled && setError(err instanceof Error ? err.message : 'could not load the recordings'),
    );
    return () => {
      cancelled = true;
    };
  }, [username]);

  if (error) return <p class="muted">{error}</p>;
  if (!recordings) return null;
  if (recordings.length === 0) return <p class="muted" data-testid="recordings-empty">No past streams to replay yet.</p>;
  return (
    <ul class="recordings" data-testid="recording-list">
      {recordings.map((r) => (
        <li key={r.id} class="recordings__item" data-testid="recording-item">
          <Link href={`/live/${r.streamId}`}>{r.title}</Link>
          <span class="muted">
            {' '}
            · {new Date(r.startedAt).toLocaleDateString()} · {formatDuration(r.durationMs)} · {formatBytes(r.sizeBytes)}
            {r.private ? ' · private' : ''}
          </span>
        </li>
      ))}
    </ul>
  );
}
