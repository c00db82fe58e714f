import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LAYERS, type Layer } from '../../../api/src/protocol/constants.ts';
import { Icon } from './Icon.tsx';

const LAYER_LABEL: Record<Layer, string> = { auto: 'Auto', low: 'Low', medium: 'Medium', high: 'High' };

/** Attaches a MediaStream to a <video> and keeps it playing. */
export function useAttachedStream(stream: MediaStream | null) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    if (stream) video.play().catch(() => {});
  }, [stream]);
  return ref;
}

export interface VideoPlayerProps {
  /** The main picture (camera, or the screen while sharing) with the audio. */
  main: MediaStream | null;
  /** The camera in a corner while the screen is the main picture. */
  inset?: MediaStream | null;
  hasAudio: boolean;
  layer?: Layer;
  onLayer?: (layer: Layer) => void;
  /** Shown over the picture: waiting, ended, errors. */
  overlay?: ComponentChildren;
  live?: boolean;
}

/**
 * Starts muted so autoplay is allowed everywhere, with an unmute button that
 * cannot be missed; fullscreen and a quality picker for the camera's layers.
 */
export function VideoPlayer({ main, inset = null, hasAudio, layer, onLayer, overlay, live = false }: VideoPlayerProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const videoRef = useAttachedStream(main);
  const insetRef = useAttachedStream(inset);
  const [muted, setMuted] = useState(true);
  const [fullscreen, setFullscreen] = useState(false);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);

  useEffect(() => {
    const video = videoRef.current;
    if (video) video.muted = muted;
  }, [muted, main]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === boxRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const toggleMute = () => {
    const next = !muted;
    setMuted(next);
    const video = videoRef.current;
    if (video) {
      video.muted = next;
      // Unmuting is a user gesture: playback that the browser held back may start now.
      if (!next) video.play().catch(() => {});
    }
  };

  const toggleFullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void boxRef.current?.requestFullscreen().catch(() => {});
  };

  return (
    <div
      class={`player${fullscreen ? ' player--fullscreen' : ''}`}
      ref={boxRef}
      onKeyDown={(e) => {
        if (e.target instanceof HTMLSelectElement) return;
        if (e.key === 'm') toggleMute();
        if (e.key === 'f') toggleFullscreen();
      }}
    >
      <video
        ref={videoRef}
        class="player__video"
        data-testid="video"
        autoPlay
        playsInline
        muted
        onResize={(e) => setSize({ w: e.currentTarget.videoWidth, h: e.currentTarget.videoHeight })}
      />
      {inset ? <video ref={insetRef} class="player__inset" data-testid="video-inset" autoPlay playsInline muted /> : null}
      {overlay ? <div class="player__overlay">{overlay}</div> : null}
      {main && hasAudio && muted && !overlay ? (
        <button type="button" class="player__unmute" data-testid="unmute" onClick={toggleMute}>
          <Icon name="volumeOff" size={22} /> Tap to unmute
        </button>
      ) : null}
      <div class="player__controls">
        {live ? <span class="live-pill">LIVE</span> : null}
        <button type="button" class="iconbtn iconbtn--light" aria-label={muted ? 'Unmute' : 'Mute'} aria-pressed={!muted} data-testid="mute-toggle" onClick={toggleMute} disabled={!hasAudio}>
          <Icon name={muted ? 'volumeOff' : 'volumeOn'} />
        </button>
        <span class="player__spacer" />
        {size && main ? <span class="player__res" data-testid="video-resolution">{`${size.h}p`}</span> : null}
        {onLayer && layer ? (
          <label class="player__quality">
            <span class="visually-hidden">Quality</span>
            <select value={layer} data-testid="quality" onChange={(e) => {
                const picked = LAYERS.find((l) => l === e.currentTarget.value);
                if (picked) onLayer(picked);
              }}>
              {LAYERS.map((l) => (
                <option value={l} key={l}>
                  {LAYER_LABEL[l]}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button type="button" class="iconbtn iconbtn--light" aria-label={fullscreen ? 'Exit full screen' : 'Full screen'} data-testid="fullscreen" onClick={toggleFullscreen}>
          <Icon name={fullscreen ? 'fullscreenExit' : 'fullscreen'} />
        </button>
      </div>
    </div>
  );
}
