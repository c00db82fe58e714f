import type { RecorderTrack } from '@redred/sfu';

/** The container a recording is written in: what was sent, without re-encoding (docs/recording.md). */
export type RecordingContainer = 'webm' | 'mp4';

export interface SdpTrack extends RecorderTrack {
  rtpPort: number;
}

/** VP8/VP9/Opus → WebM (every browser); H.264 → fragmented MP4 (WebM cannot carry H.264). */
export function containerFor(tracks: readonly RecorderTrack[]): RecordingContainer {
  const video = tracks.find((t) => t.kind === 'video');
  const mime = video?.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
  return mime === 'video/h264' ? 'mp4' : 'webm';
}

/**
 * The session description ffmpeg reads to receive the tap's RTP: one media
 * section per track, RTCP on the next port (ffmpeg's default; `a=rtcp` says
 * it too), the consumer's payload type, clock rate and format parameters.
 */
export function recorderSdp(tracks: readonly SdpTrack[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=redred recorder', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const track of tracks) {
    const codec = track.rtpParameters.codecs[0];
    if (!codec) throw new Error(`track ${track.producerId} has no codec`);
    const name = codec.mimeType.split('/')[1] ?? '';
    const channels = track.kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
    lines.push(`m=${track.kind} ${track.rtpPort} RTP/AVP ${codec.payloadType}`);
    lines.push(`a=rtcp:${track.rtpPort + 1}`);
    lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`);
    const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${String(v)}`);
    if (fmtp.length > 0) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
    lines.push('a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}
