import { useEffect, useState } from 'preact/hooks';
import type { StreamInfo } from '@redred/api/protocol';
import { useApp } from '../../app-context.ts';
import { restApi } from '../../net/api.ts';
import { formatCount, formatDuration } from '../../lib/format.ts';
import { useDocumentTitle, useNow } from '../../lib/hooks.ts';
import { Link } from '../../router.tsx';
import { Icon } from '../../components/Icon.tsx';

const REFRESH_MS = 5000;

/** Live streams now, refreshed while the page is visible. */
export function HomePage() {
  useDocumentTitle('');
  const { session } = useApp();
  const [streams, setStreams] = useState<StreamInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(1000);

  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      if (document.visibilityState === 'hidden') return;
      try {
        const body = await restApi.liveStreams();
        if (cancelled) return;
        setStreams(body.streams);
        setError(null);
      } catch (err) {
        if (!cancelled) setError(err instanceof Error ? err.message : 'could not load the streams');
      }
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    const onVisible = () => void load();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      cancelled = true;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);

  return (
    <div class="page home">
      <section class="hero">
        <div>
          <h1 class="hero__title">Live now</h1>
          <p class="hero__lead">One upload, a whole audience. Pick a stream, or start your own.</p>
        </div>
        <Link href="/studio" class="btn btn--primary" data-testid="go-studio">
          <Icon name="camera" size={18} /> {session.user.value ? 'Open your studio' : 'Start streaming'}
        </Link>
      </section>
      {error ? (
        <p class="banner banner--error" role="alert">
          {error}
        </p>
      ) : null}
      {streams === null && !error ? <p class="muted">Loading streams…</p> : null}
      {streams && streams.length === 0 ? (
        <div class="empty card" data-testid="no-streams">
          <p>Nobody is live right now.</p>
          <Link href="/studio">Be the first to go live →</Link>
        </div>
      ) : null}
      {streams && streams.length > 0 ? (
        <ul class="grid" data-testid="stream-list">
          {streams.map((s) => (
            <StreamCard key={s.id} stream={s} now={now} />
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function StreamCard({ stream, now }: { stream: StreamInfo; now: number }) {
  const hue = (stream.streamer.id * 47) % 360;
  return (
    <li class="streamcard" data-testid="stream-card" data-stream-id={stream.id}>
      <Link href={`/live/${stream.id}`} class="streamcard__link">
        <div class="streamcard__thumb" style={{ '--hue': String(hue) }} aria-hidden="true">
          <span class="streamcard__initial">{stream.streamer.username.slice(0, 1).toUpperCase()}</span>
          <span class="live-pill streamcard__live">LIVE</span>
          <span class="streamcard__viewers">
            <Icon name="eye" size={14} /> {formatCount(stream.viewers)}
          </span>
          {stream.startedAt ? <span class="streamcard__time">{formatDuration(now - stream.startedAt)}</span> : null}
        </div>
        <div class="streamcard__body">
          <h2 class="streamcard__title">{stream.title}</h2>
          <p class="streamcard__meta">
            {stream.streamer.username} · {stream.viewers} watching
          </p>
        </div>
      </Link>
    </li>
  );
}
