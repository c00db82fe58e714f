import { useEffect, useMemo, useState } from 'preact/hooks';
import { LIMITS } from '@redred/api/protocol/constants';
import type { StreamInfo } from '@redred/api/protocol';
import { useApp } from '../../app-context.ts';
import { ApiError, restApi } from '../../net/api.ts';
import { describeEndReason } from '../../lib/format.ts';
import { useDocumentTitle } from '../../lib/hooks.ts';
import { Link } from '../../router.tsx';
import { createLiveRoom, type LiveRoom } from '../../state/live-room.ts';
import type { RoomUser } from '../../state/stream.ts';
import { ChatPanel } from '../../components/ChatPanel.tsx';
import { ChatSettingsForm } from '../../components/ChatSettingsForm.tsx';
import { ConnectionBanner } from '../../components/ConnectionBanner.tsx';
import { Field } from '../../components/Field.tsx';
import { Icon } from '../../components/Icon.tsx';
import { ModerationLists } from '../../components/ModerationLists.tsx';
import { ModerationLog } from '../../components/ModerationLog.tsx';
import { StatsPanel } from '../../components/StatsPanel.tsx';
import { StreamStatus } from '../../components/StreamStatus.tsx';
import { Toast } from '../../components/Toast.tsx';
import { useTrackElement } from '../../components/VideoPlayer.tsx';
import { ViewerList } from '../../components/ViewerList.tsx';
import { StudioBroadcast } from './studio-broadcast.ts';
import { createStudioDevices, type StudioDevices } from './studio-devices.ts';
import { GoLiveBar } from './GoLiveBar.tsx';
import { StreamDetails } from './StreamDetails.tsx';
import { RecordOptions, useRecordChoice } from './RecordOptions.tsx';
import { StreamKeyPanel } from './StreamKeyPanel.tsx';
import { UploadPanel } from './UploadPanel.tsx';

export function StudioPage() {
  useDocumentTitle('Studio');
  const { session } = useApp();
  const user = session.user.value;
  if (user === undefined) return null;
  if (user === null) {
    return (
      <div class="page auth">
        <div class="card auth__card stack" data-testid="studio-login">
          <h1 class="auth__title">Your studio</h1>
          <p>Log in to set up a stream and go live.</p>
          <Link href="/login?next=%2Fstudio" class="btn btn--primary btn--block">
            Log in
          </Link>
          <Link href="/signup?next=%2Fstudio" class="btn btn--ghost btn--block">
            Create an account
          </Link>
        </div>
      </div>
    );
  }
  return <Studio key={user.id} user={user} />;
}

function Studio({ user }: { user: RoomUser }) {
  const devices = useMemo(() => createStudioDevices(), []);
  useEffect(() => {
    void devices.start();
    return () => devices.dispose();
  }, [devices]);

  const [streamId, setStreamId] = useState<number | null>(null);
  const [checked, setChecked] = useState(false);

  // The server knows the streamer's open stream: a reload, or another device, resumes it.
  useEffect(() => {
    let cancelled = false;
    restApi.myOpenStream().then(
      ({ stream }) => {
        if (cancelled) return;
        setStreamId(stream.id);
        setChecked(true);
      },
      () => {
        if (!cancelled) setChecked(true);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [user.id]);

  const forget = () => setStreamId(null);

  if (!checked) return null;
  if (streamId === null) {
    return <StudioSetup devices={devices} onCreated={(stream) => setStreamId(stream.id)} />;
  }
  return <StudioRoom key={streamId} streamId={streamId} devices={devices} onNewStream={forget} />;
}

function StudioSetup({ devices, onCreated }: { devices: StudioDevices; onCreated: (stream: StreamInfo) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<{ title?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);
  const recording = useRecordChoice();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!title.trim()) {
      setErrors({ title: 'Give your stream a title' });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const { stream } = await restApi.createStream({ title: title.trim(), description: description.trim(), record: recording.record });
      onCreated(stream);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'validation_failed') setErrors({ title: err.message });
      else setErrors({ form: err instanceof Error ? err.message : 'the stream could not be created' });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page page--wide">
      <div class="studio">
        <section class="studio__main">
          <Preview devices={devices} />
          <DevicePanel devices={devices} />
        </section>
        <aside class="studio__side">
          <form class="card panel stack" onSubmit={submit} data-testid="create-stream-form">
            <h1 class="panel__title panel__title--big">Set up your stream</h1>
            <Field
              label="Title"
              name="title"
              value={title}
              maxLength={LIMITS.titleMax}
              error={errors.title}
              data-testid="stream-title-input"
              onInput={(e) => setTitle(e.currentTarget.value)}
              required
            />
            <Field
              label="Description"
              name="description"
              multiline
              rows={4}
              maxLength={LIMITS.descriptionMax}
              value={description}
              data-testid="stream-description-input"
              onInput={(e) => setDescription(e.currentTarget.value)}
            />
            <RecordOptions choice={recording} />
            {errors.form ? (
              <p class="field__error" role="alert" data-testid="form-error">
                {errors.form}
              </p>
            ) : null}
            <button type="submit" class="btn btn--primary btn--block" disabled={busy} data-testid="create-stream">
              {busy ? 'Creating…' : 'Create stream'}
            </button>
            <p class="muted">Viewers can open the stream's page as soon as it exists; the video starts when you go live.</p>
          </form>
          <StreamKeyPanel />
        </aside>
      </div>
    </div>
  );
}

/** One room and the broadcast for as long as the studio shows this stream. */
function useStudioRoom(streamId: number, devices: StudioDevices): { room: LiveRoom; broadcast: StudioBroadcast } | null {
  const [state, setState] = useState<{ room: LiveRoom; broadcast: StudioBroadcast } | null>(null);
  useEffect(() => {
    const room = createLiveRoom(streamId);
    const broadcast = new StudioBroadcast(room.connection, devices);
    room.attachMedia(broadcast);
    setState({ room, broadcast });
    return () => {
      broadcast.close();
      room.dispose();
    };
  }, [streamId, devices]);
  return state;
}

function StudioRoom({ streamId, devices, onNewStream }: { streamId: number; devices: StudioDevices; onNewStream: () => void }) {
  const studio = useStudioRoom(streamId, devices);
  if (!studio) return null;
  const { room, broadcast } = studio;
  const status = room.stream.status.value;
  const role = room.stream.role.value;
  const info = room.stream.info.value;
  const loginHref = `/login?next=%2Fstudio`;

  if (info && role !== 'streamer' && room.connection.status.value === 'open') {
    return (
      <div class="page">
        <div class="empty card">
          <p>This stream belongs to someone else.</p>
          <button type="button" class="btn btn--primary" onClick={onNewStream}>
            Set up your own stream
          </button>
        </div>
      </div>
    );
  }

  return (
    <div class="page page--wide">
      <ConnectionBanner connection={room.connection} />
      <div class="studio">
        <section class="studio__main">
          <StudioHeader room={room} />
          {status === 'ended' ? (
            <div class="card panel ended ended--inline" data-testid="stream-ended">
              <h2>Your stream has ended</h2>
              {room.stream.ended.value ? <p data-testid="end-reason">{describeEndReason(room.stream.ended.value.reason)}</p> : null}
              <p>The numbers are below. Thanks for streaming!</p>
              <button type="button" class="btn btn--primary" data-testid="new-stream" onClick={onNewStream}>
                Set up a new stream
              </button>
            </div>
          ) : (
            <>
              <Preview devices={devices} />
              <GoLiveBar room={room} broadcast={broadcast} devices={devices} />
              <UploadPanel broadcast={broadcast} captureHeight={devices.camera.value?.getSettings().height ?? 720} />
              <DevicePanel devices={devices} />
            </>
          )}
          <StatsPanel streamId={streamId} live={status === 'live'} />
          {status !== 'ended' ? (
            <div class="studio__tools">
              <ChatSettingsForm room={room} />
              <ModerationLog room={room} />
            </div>
          ) : null}
        </section>
        <aside class="studio__side">
          <ChatPanel room={room} loginHref={loginHref} />
          {status !== 'ended' ? <ViewerList room={room} /> : null}
          {status !== 'ended' && room.stream.me.value ? <ModerationLists room={room} channelId={room.stream.me.value.id} /> : null}
          {status !== 'ended' ? <StreamKeyPanel /> : null}
        </aside>
      </div>
      <Toast notice={room.notice} />
    </div>
  );
}

function StudioHeader({ room }: { room: LiveRoom }) {
  const info = room.stream.info.value;
  return (
    <header class="studio__header">
      <div>
        <h1 class="studio__title" data-testid="stream-title">
          {info?.title ?? 'Your stream'}
        </h1>
        <p class="muted">
          <Link href={`/live/${room.streamId}`} data-testid="watch-link">
            {`${location.host}/live/${room.streamId}`}
          </Link>
        </p>
        <StreamDetails room={room} />
      </div>
      <StreamStatus stream={room.stream} waitingLabel="Not live yet" />
    </header>
  );
}

function Preview({ devices }: { devices: StudioDevices }) {
  const camera = devices.cameraOn.value ? devices.camera.value : null;
  const screen = devices.screen.value?.video ?? null;
  const main = screen ?? camera;
  const inset = screen && camera ? camera : null;
  const mainRef = useTrackElement<HTMLVideoElement>(main);
  const insetRef = useTrackElement<HTMLVideoElement>(inset);
  return (
    <div class="player player--preview">
      <video ref={mainRef} class={`player__video${main === camera ? ' player__video--mirror' : ''}`} data-testid="preview" autoPlay playsInline muted />
      {inset ? <video ref={insetRef} class="player__inset player__video--mirror" autoPlay playsInline muted /> : null}
      {!main ? <p class="player__overlay overlay-note">{devices.started.value ? 'Camera off' : 'Starting camera…'}</p> : null}
      <span class="player__tag">Preview</span>
    </div>
  );
}

function DevicePanel({ devices }: { devices: StudioDevices }) {
  const cameras = devices.cameras.value;
  const microphones = devices.microphones.value;
  const sharing = devices.screen.value !== null;
  const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  return (
    <section class="card panel" aria-labelledby="devices-title" data-testid="device-panel">
      <header class="panel__head">
        <h2 id="devices-title" class="panel__title">
          Camera, microphone and screen
        </h2>
      </header>
      {devices.error.value ? (
        <p class="field__error" role="alert">
          {devices.error.value}
        </p>
      ) : null}
      <div class="devices">
        <DeviceChoice
          kind="camera"
          label="Camera"
          devices={cameras}
          selected={devices.cameraId.value}
          on={devices.cameraOn.value}
          onToggle={(on) => void devices.setCameraOn(on)}
          onSelect={(id) => void devices.selectCamera(id)}
        />
        <DeviceChoice
          kind="mic"
          label="Microphone"
          devices={microphones}
          selected={devices.microphoneId.value}
          on={devices.microphoneOn.value}
          onToggle={(on) => void devices.setMicrophoneOn(on)}
          onSelect={(id) => void devices.selectMicrophone(id)}
        />
        <div class="device">
          <span class="row">
            <Icon name="screen" size={18} /> <span>Screen</span>
          </span>
          {sharing ? (
            <button type="button" class="btn btn--sm btn--danger" data-testid="stop-screen" onClick={() => devices.stopScreen()}>
              Stop sharing
            </button>
          ) : (
            <button type="button" class="btn btn--sm btn--ghost" data-testid="share-screen" disabled={!canShare} onClick={() => void devices.startScreen()}>
              Share screen
            </button>
          )}
          <p class="muted small">{sharing ? (devices.cameraOn.value ? 'Screen with your camera in the corner.' : 'Screen only.') : 'Untick Camera to share the screen alone.'}</p>
        </div>
      </div>
    </section>
  );
}

/** A capture device: on/off, and which one. */
function DeviceChoice(props: {
  kind: 'camera' | 'mic';
  label: string;
  devices: MediaDeviceInfo[];
  selected: string;
  on: boolean;
  onToggle: (on: boolean) => void;
  onSelect: (deviceId: string) => void;
}) {
  const { kind, label, devices, selected, on } = props;
  return (
    <div class="device">
      <label class="row row--check">
        <input type="checkbox" checked={on} data-testid={`${kind}-on`} onChange={(e) => props.onToggle(e.currentTarget.checked)} />
        <Icon name={kind} size={18} /> <span>{label}</span>
      </label>
      <label class="visually-hidden" for={`${kind}-select`}>
        {label} device
      </label>
      <select
        id={`${kind}-select`}
        class="input input--sm"
        data-testid={`${kind}-select`}
        value={selected}
        disabled={!on || devices.length === 0}
        onChange={(e) => props.onSelect(e.currentTarget.value)}
      >
        {devices.length === 0 ? <option value="">No {label.toLowerCase()} found</option> : null}
        {devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `${label} ${i + 1}`}
          </option>
        ))}
      </select>
    </div>
  );
}
