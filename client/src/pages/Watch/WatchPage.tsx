import { useEffect, useState } from 'preact/hooks';
import type { RecordingInfo } from '@redred/api/protocol';
import { restApi, ApiError } from '../../net/api.ts';
import { useDocumentTitle } from '../../lib/hooks.ts';
import { describeEndReason, formatDuration } from '../../lib/format.ts';
import { Link } from '../../router.tsx';
import { createLiveRoom, type LiveRoom } from '../../state/live-room.ts';
import { ChatPanel } from '../../components/ChatPanel.tsx';
import { ChatReplay } from '../../components/ChatReplay.tsx';
import { ChatSettingsForm } from '../../components/ChatSettingsForm.tsx';
import { ConnectionBanner } from '../../components/ConnectionBanner.tsx';
import { ModerationLog } from '../../components/ModerationLog.tsx';
import { RecordingList } from '../../components/RecordingList.tsx';
import { ReplayPlayer } from '../../components/ReplayPlayer.tsx';
import { RoleBadge } from '../../components/RoleBadge.tsx';
import { StreamStatus } from '../../components/StreamStatus.tsx';
import { Toast } from '../../components/Toast.tsx';
import { VideoPlayer } from '../../components/VideoPlayer.tsx';
import { ViewerList } from '../../components/ViewerList.tsx';
import { WatchMedia } from './watch-media.ts';

/** One room and its media for as long as the page shows this stream. */
function useWatchRoom(streamId: number): { room: LiveRoom; media: WatchMedia } | null {
  const [state, setState] = useState<{ room: LiveRoom; media: WatchMedia } | null>(null);
  useEffect(() => {
    const room = createLiveRoom(streamId);
    const media = new WatchMedia(room.connection);
    room.attachMedia(media);
    setState({ room, media });
    return () => {
      media.close();
      room.dispose();
    };
  }, [streamId]);
  return state;
}

/** The ended stream's recording, once it plays (finalising takes a few seconds after the end: asked again until then). */
function useReplay(streamId: number, ended: boolean): RecordingInfo | null {
  const [recording, setRecording] = useState<RecordingInfo | null>(null);
  useEffect(() => {
    if (!ended) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = (attempt: number) => {
      restApi.streamRecording(streamId).then(
        (body) => {
          if (cancelled) return;
          if (body.recording.url) setRecording(body.recording);
          else if (body.recording.status === 'recording' && attempt < 30) timer = setTimeout(() => ask(attempt + 1), 2000);
        },
        () => {
          // No recording (never asked for, private, deleted): the page stays as it is.
        },
      );
    };
    ask(0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [streamId, ended]);
  return recording;
}

export function WatchPage({ streamId }: { streamId: number }) {
  const watch = useWatchRoom(streamId);
  const [missing, setMissing] = useState(false);

  // REST first paint: the title shows before the socket answers, and an ended stream still has a page.
  useEffect(() => {
    if (!watch) return;
    let cancelled = false;
    restApi.stream(streamId).then(
      (body) => !cancelled && watch.room.stream.prefill(body.stream),
      (err: unknown) => !cancelled && err instanceof ApiError && err.status === 404 && setMissing(true),
    );
    return () => {
      cancelled = true;
    };
  }, [watch, streamId]);

  if (missing) {
    return (
      <div class="page">
        <div class="empty card">
          <h1>Stream not found</h1>
          <p>
            There is no stream {streamId}. <Link href="/">See who is live →</Link>
          </p>
        </div>
      </div>
    );
  }
  if (!watch) return null;
  return <WatchView room={watch.room} media={watch.media} />;
}

function WatchView({ room, media }: { room: LiveRoom; media: WatchMedia }) {
  const info = room.stream.info.value;
  const status = room.stream.status.value;
  const tracks = media.tracks.value;
  const isStaff = room.stream.isStaff.value;
  const role = room.stream.role.value;
  const live = status === 'live';
  const replay = useReplay(room.streamId, status === 'ended');
  const [position, setPosition] = useState(0);
  useDocumentTitle(info ? info.title : 'Watch');
  const loginHref = `/login?next=${encodeURIComponent(`/live/${room.streamId}`)}`;

  const mainVideo = tracks.screen ?? tracks.camera ?? null;
  const audio = tracks.microphone ?? null;
  const inset = tracks.screen && tracks.camera ? tracks.camera : null;
  // Pinning a layer only means something for the simulcast camera.
  const canPickQuality = Boolean(tracks.camera);

  let overlay = null;
  if (status === 'ended') {
    overlay = (
      <div class="ended" data-testid="stream-ended">
        <h2>The stream has ended</h2>
        {room.stream.ended.value ? <p data-testid="end-reason">{describeEndReason(room.stream.ended.value.reason)}</p> : null}
        {info?.startedAt && info.endedAt ? (
          <p data-testid="stream-summary">
            Live for {formatDuration(info.endedAt - info.startedAt)} · peak {info.peakViewers} watching
          </p>
        ) : null}
        <p>Thanks for watching{info ? ` ${info.streamer.username}` : ''}.</p>
        {info ? (
          <Link href={`/c/${encodeURIComponent(info.streamer.username)}`} class="btn" data-testid="channel-link">
            {info.streamer.username}’s channel
          </Link>
        ) : null}
        <Link href="/" class="btn btn--primary">
          See who else is live
        </Link>
      </div>
    );
  } else if (room.connection.over.value && room.connection.over.value.kind !== 'ended') {
    overlay = <p class="overlay-note">You are not connected to this stream.</p>;
  } else if (info?.reconnectingUntil !== undefined) {
    // The streamer's connection dropped: the stream waits for them until the grace period ends.
    overlay = (
      <p class="overlay-note" data-testid="reconnecting">
        The streamer is reconnecting… The stream ends at {new Date(room.stream.toLocalTime(info.reconnectingUntil)).toLocaleTimeString()} unless they are back.
      </p>
    );
  } else if (!mainVideo) {
    overlay = (
      <p class="overlay-note" data-testid="waiting">
        {status === 'waiting' ? 'The stream has not started yet. It will play here as soon as it does.' : media.error.value ? `Video problem: ${media.error.value}` : 'Connecting to the video…'}
      </p>
    );
  }

  return (
    <div class="page page--wide">
      <ConnectionBanner connection={room.connection} />
      <div class="watch">
        <section class="watch__main">
          {replay ? (
            <ReplayPlayer recording={replay} onPosition={setPosition} />
          ) : (
            <VideoPlayer
              video={mainVideo}
              audio={audio}
              inset={inset}
              live={live}
              overlay={overlay}
              {...(canPickQuality ? { layer: media.layer.value, onLayer: (l) => media.setLayer(l) } : {})}
            />
          )}
          <div class="watch__info">
            <div class="watch__titlebar">
              <h1 class="watch__title" data-testid="stream-title">
                {info?.title ?? '…'}
              </h1>
              <StreamStatus stream={room.stream} waitingLabel="Starting soon" />
            </div>
            <p class="watch__streamer">
              {info?.streamer.username}
              {role !== 'anonymous' && role !== 'viewer' ? (
                <>
                  {' · you are '}
                  <RoleBadge role={role} />
                </>
              ) : null}
            </p>
            {info?.description ? <p class="watch__description">{info.description}</p> : null}
          </div>
          {status === 'ended' && info ? (
            <section class="card panel stack" aria-label="Past streams">
              <h2 class="panel__title">Past streams of {info.streamer.username}</h2>
              <RecordingList username={info.streamer.username} />
            </section>
          ) : null}
          {isStaff && status !== 'ended' ? (
            <div class="modtools" data-testid="mod-tools">
              <ViewerList room={room} />
              <ChatSettingsForm room={room} />
              <ModerationLog room={room} />
            </div>
          ) : null}
        </section>
        <aside class="watch__chat">
          {replay ? <ChatReplay recording={replay} positionMs={position} /> : <ChatPanel room={room} loginHref={loginHref} />}
        </aside>
      </div>
      <Toast notice={room.notice} />
    </div>
  );
}
