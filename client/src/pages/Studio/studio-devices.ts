import { batch, computed, signal } from '@preact/signals';
import type { PublishedTracks } from '../../net/media.ts';

/** The screen's video; its audio is not part of the protocol's media sources, so it is not captured. */
export interface ScreenCapture {
  video: MediaStreamTrack;
}

const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const MIC_CONSTRAINTS: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

function explain(err: unknown, what: string): string {
  if (err instanceof DOMException) {
    if (err.name === 'NotAllowedError') return `Permission to use the ${what} was refused. Allow it in the browser's site settings.`;
    if (err.name === 'NotFoundError' || err.name === 'OverconstrainedError') return `No ${what} was found.`;
    if (err.name === 'NotReadableError') return `The ${what} is in use by another application.`;
  }
  return `The ${what} could not be started: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * The studio's local capture: camera, microphone and screen, the device lists
 * and choices, and `wanted` — the tracks that should be on air.
 * The studio owns these tracks; producers only borrow them.
 */
export function createStudioDevices(media: MediaDevices = navigator.mediaDevices) {
  const cameras = signal<MediaDeviceInfo[]>([]);
  const microphones = signal<MediaDeviceInfo[]>([]);
  const cameraId = signal('');
  const microphoneId = signal('');
  const cameraOn = signal(true);
  const microphoneOn = signal(true);
  const camera = signal<MediaStreamTrack | null>(null);
  const microphone = signal<MediaStreamTrack | null>(null);
  const screen = signal<ScreenCapture | null>(null);
  const error = signal<string | null>(null);
  const started = signal(false);
  let disposed = false;

  const wanted = computed<PublishedTracks>(() => ({
    camera: cameraOn.value ? camera.value : null,
    microphone: microphoneOn.value ? microphone.value : null,
    screen: screen.value?.video ?? null,
  }));
  const hasVideo = computed(() => Boolean(wanted.value.camera ?? wanted.value.screen));

  async function refreshDevices(): Promise<void> {
    const all = await media.enumerateDevices();
    batch(() => {
      cameras.value = all.filter((d) => d.kind === 'videoinput');
      microphones.value = all.filter((d) => d.kind === 'audioinput');
    });
  }

  function replace(target: typeof camera, track: MediaStreamTrack | null, idTarget: typeof cameraId): void {
    target.peek()?.stop();
    if (disposed) {
      track?.stop();
      return;
    }
    batch(() => {
      target.value = track;
      if (track) idTarget.value = track.getSettings().deviceId ?? idTarget.peek();
    });
    if (track) {
      track.addEventListener('ended', () => {
        if (target.peek() === track) target.value = null;
      });
    }
  }

  async function openCamera(): Promise<void> {
    try {
      const id = cameraId.peek();
      const stream = await media.getUserMedia({ video: { ...CAMERA_CONSTRAINTS, ...(id ? { deviceId: { exact: id } } : {}) } });
      replace(camera, stream.getVideoTracks()[0] ?? null, cameraId);
      error.value = null;
    } catch (err) {
      error.value = explain(err, 'camera');
    }
  }

  async function openMicrophone(): Promise<void> {
    try {
      const id = microphoneId.peek();
      const stream = await media.getUserMedia({ audio: { ...MIC_CONSTRAINTS, ...(id ? { deviceId: { exact: id } } : {}) } });
      replace(microphone, stream.getAudioTracks()[0] ?? null, microphoneId);
      error.value = null;
    } catch (err) {
      error.value = explain(err, 'microphone');
    }
  }

  const onDeviceChange = () => void refreshDevices();
  media.addEventListener('devicechange', onDeviceChange);

  return {
    cameras,
    microphones,
    cameraId,
    microphoneId,
    cameraOn,
    microphoneOn,
    camera,
    microphone,
    screen,
    error,
    started,
    wanted,
    hasVideo,
    /** Asks for camera and microphone together (one permission prompt), then lists the devices with their names. */
    async start(): Promise<void> {
      if (started.peek()) return;
      started.value = true;
      try {
        const stream = await media.getUserMedia({ video: CAMERA_CONSTRAINTS, audio: MIC_CONSTRAINTS });
        replace(camera, stream.getVideoTracks()[0] ?? null, cameraId);
        replace(microphone, stream.getAudioTracks()[0] ?? null, microphoneId);
      } catch {
        // One of the two may still work on its own.
        await openCamera();
        await openMicrophone();
      }
      await refreshDevices().catch(() => {});
    },
    async selectCamera(id: string): Promise<void> {
      cameraId.value = id;
      if (cameraOn.peek()) await openCamera();
    },
    async selectMicrophone(id: string): Promise<void> {
      microphoneId.value = id;
      if (microphoneOn.peek()) await openMicrophone();
    },
    async setCameraOn(on: boolean): Promise<void> {
      cameraOn.value = on;
      if (on && !camera.peek()) await openCamera();
      if (!on) replace(camera, null, cameraId);
    },
    async setMicrophoneOn(on: boolean): Promise<void> {
      microphoneOn.value = on;
      if (on && !microphone.peek()) await openMicrophone();
      if (!on) replace(microphone, null, microphoneId);
    },
    async startScreen(): Promise<void> {
      try {
        const stream = await media.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false });
        const video = stream.getVideoTracks()[0];
        if (!video) return;
        // Text on screen stays legible: keep detail, drop frames first.
        video.contentHint = 'detail';
        stopScreen();
        if (disposed) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        screen.value = { video };
        // The browser's own "Stop sharing" ends the track.
        video.addEventListener('ended', () => {
          if (screen.peek()?.video === video) stopScreen();
        });
        error.value = null;
      } catch (err) {
        if (err instanceof DOMException && err.name === 'NotAllowedError') return;
        error.value = explain(err, 'screen capture');
      }
    },
    stopScreen,
    dispose(): void {
      disposed = true;
      media.removeEventListener('devicechange', onDeviceChange);
      camera.peek()?.stop();
      microphone.peek()?.stop();
      stopScreen();
      batch(() => {
        camera.value = null;
        microphone.value = null;
      });
    },
  };

  function stopScreen(): void {
    const current = screen.peek();
    if (!current) return;
    current.video.stop();
    screen.value = null;
  }
}

export type StudioDevices = ReturnType<typeof createStudioDevices>;
