import { useState } from 'preact/hooks';
import type { LiveRoom } from '../../state/live-room.ts';
import type { StudioBroadcast } from './studio-broadcast.ts';
import type { StudioDevices } from './studio-devices.ts';

/** Go live / resume / end, and what the studio is doing now — including a stream published from an encoder. */
export function GoLiveBar({ room, broadcast, devices }: { room: LiveRoom; broadcast: StudioBroadcast; devices: StudioDevices }) {
  const [ending, setEnding] = useState(false);
  const state = broadcast.state.value;
  const online = room.connection.status.value === 'open';
  const hasVideo = devices.hasVideo.value;
  const onAir = broadcast.onAir.value;
  const wasLive = room.stream.status.value === 'live';
  const encoder = broadcast.encoderLive.value && !onAir;

  return (
    <div class="golive card">
      <div class="golive__state" role="status" aria-live="polite" data-testid="broadcast-state" data-state={state}>
        {encoder
          ? 'You are live from your encoder (OBS). Stop it there, or end the stream here.'
          : state === 'on'
          ? 'You are live. Everyone on your stream page sees and hears you.'
          : state === 'starting'
            ? 'Connecting your camera and microphone…'
            : state === 'error'
              ? `Could not go live: ${broadcast.error.value ?? 'unknown error'}`
              : !hasVideo
                ? 'Turn on your camera or share your screen to go live.'
                : wasLive
                  ? 'Your stream is live but nothing is being sent. Resume to send video again.'
                  : 'Ready when you are.'}
      </div>
      <div class="golive__actions">
        {(!onAir || state === 'error') && !encoder ? (
          <button type="button" class="btn btn--primary btn--lg" data-testid="go-live" disabled={!online || !hasVideo} onClick={() => broadcast.goLive()}>
            {wasLive ? 'Resume broadcast' : 'Go live'}
          </button>
        ) : null}
        <button
          type="button"
          class="btn btn--danger btn--lg"
          data-testid="end-stream"
          disabled={!online || ending}
          onClick={async () => {
            setEnding(true);
            const ok = await room.endStream();
            setEnding(false);
            if (ok) broadcast.streamEnded();
          }}
        >
          {ending ? 'Ending…' : 'End stream'}
        </button>
      </div>
    </div>
  );
}
