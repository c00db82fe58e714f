import { formatDuration } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';
import type { StreamState } from '../state/stream.ts';
import { Icon } from './Icon.tsx';

/** Why the server stopped recording, in words (docs/recording.md). */
const RECORDING_STOP_REASONS: Record<string, string> = { disk_low: 'the server is low on disk space' };

/** LIVE (or waiting/ended), viewers now (peak once ended), and how long it has been live. */
export function StreamStatus({ stream, waitingLabel }: { stream: StreamState; waitingLabel: string }) {
  const info = stream.info.value;
  const status = stream.status.value;
  const live = status === 'live';
  const now = useNow(1000, live);
  return (
    <div class="watch__stats">
      {live ? (
        <span class="live-pill" data-testid="stream-status" data-status="live">
          LIVE
        </span>
      ) : (
        <span class="pill" data-testid="stream-status" data-status={status}>
          {status === 'ended' ? 'Ended' : waitingLabel}
        </span>
      )}
      {info?.recording && status !== 'ended' ? (
        <span class="pill pill--rec" title="This stream is being recorded" data-testid="recording-badge">
          ● REC
        </span>
      ) : null}
      {info?.recordingStopReason && !info.recording && status !== 'ended' ? (
        <span class="pill" title="Recording stopped" data-testid="recording-stopped" data-reason={info.recordingStopReason}>
          REC stopped: {RECORDING_STOP_REASONS[info.recordingStopReason] ?? info.recordingStopReason}
        </span>
      ) : null}
      {status === 'ended' ? (
        <span class="stat-inline" title="Most viewers at once" data-testid="peak-viewers">
          Peak {stream.peakViewers}
        </span>
      ) : (
        <span class="stat-inline" title="Watching now">
          <Icon name="eye" size={16} /> <span data-testid="viewer-count">{stream.viewers}</span>
        </span>
      )}
      {live && info?.startedAt ? (
        <span class="stat-inline" title="Live for" data-testid="live-time">
          <Icon name="clock" size={16} /> {formatDuration(now + stream.clockOffsetMs.value - info.startedAt)}
        </span>
      ) : null}
    </div>
  );
}
