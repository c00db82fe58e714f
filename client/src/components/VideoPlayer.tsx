import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LAYERS, type Layer } from '@redred/api/protocol/constants';
import { Icon } from './Icon.tsx';

const LAYER_LABEL: Record<Layer, string> = { auto: 'Auto', low: 'Low', medium: 'Medium', high: 'High' };

/**
 * Plays one track in a media element, and keeps it playing. One track per
 * element: the audio arriving after the video (or a screen share starting)
 * never swaps the stream under a playing picture, which would restart it.
 */
export function useTrackElement<E extends HTMLMediaElement>(track: MediaStreamTrack | null) {
  const ref = useRef<E>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = track ? new MediaStream([track]) : null;
    if (track) el.play().catch(() => {});
  }, [track]);
  return ref;
}

export interface VideoPlayerProps {
  /** The main picture: the camera, or the screen while sharing. */
  video: MediaStreamTrack | null;
  audio: MediaStreamTrack | null;
  /** The camera in a corner while the screen is the main picture. */
  inset?: MediaStreamTrack | null;
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
export function VideoPlayer({ video, audio, inset = null, layer, onLayer, overlay, live = false }: VideoPlayerProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const videoRef = useTrackElement<HTMLVideoElement>(video);
  const audioRef = useTrackElement<HTMLAudioElement>(audio);
  const insetRef = useTrackElement<HTMLVideoElement>(inset);
  const hasAudio = audio !== null;
  const [muted, setMuted] = useState(true);
  const [fullscreen, setFullscreen] = useState(false);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);

  useEffect(() => {
    const el = audioRef.current;
    if (el) el.muted = muted;
  }, [muted, audio]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === boxRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const toggleMute = () => {
    const next = !muted;
    setMuted(next);
    const el = audioRef.current;
    if (el) {
      el.muted = next;
      // Unmuting is a user gesture: playback that the browser held back may start now.
      if (!next) el.play().catch(() => {});
    }
  };

  const toggleFullscreen = () => {
    if (document.fullscreenElement) {
      void document.exitFullscreen();
      return;
    }
    const box = boxRef.current;
    if (box && typeof box.requestFullscreen === 'function') {
      void box.requestFullscreen().catch(() => {});
      return;
    }
    // iPhone Safari has element fullscreen only for <video>, through its own API.
    const el: (HTMLVideoElement & { webkitEnterFullscreen?: () => void }) | null = videoRef.current;
    el?.webkitEnterFullscreen?.();
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
      {/* Starts muted so autoplay is allowed; the unmute button is the user gesture that turns it on. */}
      <audio ref={audioRef} data-testid="audio" autoPlay muted />
      {inset ? <video ref={insetRef} class="player__inset" data-testid="video-inset" autoPlay playsInline muted /> : null}
      {overlay ? <div class="player__overlay">{overlay}</div> : null}
      {video && hasAudio && muted && !overlay ? (
        <button type="button" class="player__unmute" data-testid="unmute" onClick={toggleMute}>
          <Icon name="volumeOff" size={22} /> Tap to unmute
        </button>
      ) : null}
      {video ? (
        <div class="player__controls">
          {live ? <span class="live-pill">LIVE</span> : null}
          <button type="button" class="iconbtn iconbtn--light" aria-label={muted ? 'Unmute' : 'Mute'} aria-pressed={!muted} data-testid="mute-toggle" onClick={toggleMute} disabled={!hasAudio}>
            <Icon name={muted ? 'volumeOff' : 'volumeOn'} />
          </button>
          <span class="player__spacer" />
          {size && video ? <span class="player__res" data-testid="video-resolution">{`${size.h}p`}</span> : null}
          {onLayer && layer ? (
            <label class="player__quality">
              <span class="visually-hidden">Quality</span>
              <select
                value={layer}
                data-testid="quality"
                onChange={(e) => {
                  const picked = LAYERS.find((l) => l === e.currentTarget.value);
                  if (picked) onLayer(picked);
                }}
              >
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
      ) : null}
    </div>
  );
}
