import type { RecordingInfo } from '@redred/api/protocol';
import { formatBytes, formatDuration } from '../lib/format.ts';

/**
 * The recording of an ended stream: a plain `<video>` on the file URL (the
 * server answers range requests, so seeking works), with its length and size.
 */
export function ReplayPlayer({ recording, onPosition }: { recording: RecordingInfo; onPosition?: (ms: number) => void }) {
  if (!recording.url) return null;
  return (
    <figure class="replay" data-testid="replay">
      <video
        class="replay__video"
        src={recording.url}
        controls
        preload="metadata"
        playsInline
        data-testid="replay-video"
        onTimeUpdate={(e) => onPosition?.(e.currentTarget.currentTime * 1000)}
        onSeeked={(e) => onPosition?.(e.currentTarget.currentTime * 1000)}
      />
      <figcaption class="replay__meta muted">
        Replay · <span data-testid="replay-duration">{formatDuration(recording.durationMs)}</span> ·{' '}
        <span data-testid="replay-size">{formatBytes(recording.sizeBytes)}</span>
        {recording.status === 'partial' ? ' · partial (the server stopped during the stream)' : ''}
      </figcaption>
    </figure>
  );
}
