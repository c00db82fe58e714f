// Runs inside headless Chromium: the real publish path of a user (mediasoup-client,
// getUserMedia, a WebRTC send transport) with signaling bridged to a Node-side
// WebSocket that holds the streamer's token (a page cannot set WebSocket headers).
// Bundled with esbuild at run time; no DOM lib in this workspace, so the few
// browser APIs used are typed below.
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import { ABS_CAPTURE_TIME_URI } from '../sdp.ts';

export interface PublishOptions {
  routerRtpCapabilities: unknown;
  width: number;
  height: number;
  fps: number;
  /** maxBitrate of the three simulcast layers, lowest first (bps). */
  layerBitrates: [number, number, number];
  audio: boolean;
}

/** Publishing as OBS does: RTCPeerConnection + fetch, POST /api/whip with the stream key. */
export interface WhipPublishOptions {
  endpoint: string;
  key: string;
  width: number;
  height: number;
  fps: number;
  layerBitrates: [number, number, number];
  audio: boolean;
  codec: 'vp8' | 'h264';
}

export interface PublishInfo {
  transportId: string;
  videoProducerId: string;
  audioProducerId: string | null;
  handler: string;
  captured: { width: number; height: number; frameRate: number };
}

export interface LayerStats {
  rid: string;
  bytesSent: number;
  packetsSent: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecond: number;
  framesEncoded: number;
  /** Keyframes among them: each is several frames' worth of bytes (a viewer's join, a layer switch asks for one). */
  keyFramesEncoded: number;
  qualityLimitationReason: string;
  /** bps the encoder is told to reach for this layer now (the bandwidth estimate's allocation, capped by maxBitrate). */
  targetBitrate: number;
  /** Seconds, summed over frames / packets: Chrome's share of capture → send (encoder; packetizer → wire, the pacer). */
  totalEncodeTime: number;
  totalPacketSendDelay: number;
}

export interface UploadStats {
  at: number;
  /** Everything the send transport put on the wire (RTP, RTCP, DTLS, STUN), from the selected candidate pair. */
  transportBytesSent: number;
  videoBytesSent: number;
  audioBytesSent: number;
  /** Of the video and audio bytes, those sent again on a receiver's NACK (payload only, as WebRTC stats count them). */
  retransmittedBytesSent: number;
  layers: LayerStats[];
}

interface StatsEntry {
  type: string;
  kind?: string;
  rid?: string;
  bytesSent?: number;
  headerBytesSent?: number;
  packetsSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  framesEncoded?: number;
  keyFramesEncoded?: number;
  retransmittedBytesSent?: number;
  qualityLimitationReason?: string;
  targetBitrate?: number;
  totalEncodeTime?: number;
  totalPacketSendDelay?: number;
  nominated?: boolean;
  state?: string;
  selectedCandidatePairId?: string;
  id: string;
}

interface Track {
  kind: string;
  getSettings(): { width?: number; height?: number; frameRate?: number };
}

interface StatsSource {
  getStats(): Promise<unknown>;
}

interface HeaderExtensionCapability {
  uri: string;
  direction: string;
}

interface Transceiver {
  setCodecPreferences(codecs: unknown[]): void;
  /** RTCRtpTransceiver header extension control (Chrome 110+). */
  getHeaderExtensionsToNegotiate(): HeaderExtensionCapability[];
  setHeaderExtensionsToNegotiate(extensions: HeaderExtensionCapability[]): void;
}

interface PeerConnection extends StatsSource {
  connectionState: string;
  addTransceiver(track: Track, init: unknown): Transceiver;
  createOffer(): Promise<{ sdp: string; type: string }>;
  setLocalDescription(d: unknown): Promise<void>;
  setRemoteDescription(d: unknown): Promise<void>;
  addEventListener(type: string, cb: () => void): void;
}

interface BrowserWindow {
  navigator: { mediaDevices: { getUserMedia(c: unknown): Promise<{ getVideoTracks(): Track[]; getAudioTracks(): Track[] }> } };
  RTCPeerConnection: new () => PeerConnection;
  RTCRtpSender: { getCapabilities(kind: string): { codecs: { mimeType: string }[] } };
  fetch(url: string, init: unknown): Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;
  /** Installed by Playwright's exposeFunction: one request/reply over the streamer's WebSocket. */
  __signal(request: string): Promise<string>;
  __publisher: { publish(o: PublishOptions): Promise<PublishInfo>; publishWhip(o: WhipPublishOptions): Promise<PublishInfo>; uploadStats(): Promise<UploadStats> };
}

const win = globalThis as unknown as BrowserWindow;

async function signal<T>(request: Record<string, unknown>): Promise<T> {
  const reply = JSON.parse(await win.__signal(JSON.stringify(request))) as { ok: true; reply: T } | { ok: false; error: string };
  if (!reply.ok) throw new Error(reply.error);
  return reply.reply;
}

/** What uploadStats() reads: the mediasoup-client send transport, or the WHIP peer connection. */
let transport: StatsSource | null = null;

async function publish(o: PublishOptions): Promise<PublishInfo> {
  const device = new Device();
  await device.load({ routerRtpCapabilities: o.routerRtpCapabilities as msc.RtpCapabilities });
  const offer = await signal<{ transport: { id: string; iceParameters: msc.IceParameters; iceCandidates: msc.IceCandidate[]; dtlsParameters: msc.DtlsParameters } }>({
    type: 'create_transport',
    direction: 'send',
  });
  const t = device.createSendTransport({ ...offer.transport, iceServers: [] });
  transport = t;
  t.on('connect', ({ dtlsParameters }, callback, errback) => {
    signal({ type: 'answer', kind: 'connect', transportId: t.id, dtlsParameters }).then(() => callback(), errback);
  });
  t.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
    signal<{ producerId: string }>({ type: 'answer', kind: 'produce', transportId: t.id, mediaKind: kind, source: appData.source, rtpParameters }).then(
      (r) => callback({ id: r.producerId }),
      errback,
    );
  });
  const stream = await win.navigator.mediaDevices.getUserMedia({
    audio: o.audio,
    video: { width: { ideal: o.width }, height: { ideal: o.height }, frameRate: { ideal: o.fps } },
  });
  const videoTrack = stream.getVideoTracks()[0]!;
  const settings = videoTrack.getSettings();
  // Audio first: mediasoup-client adds abs-capture-time to the video offer by SDP munging, under an id
  // Chrome does not know is taken, and Chrome gave that id to the audio section's audio-level extension
  // when audio came second (a BUNDLE id collision). Munged last, it takes an id nothing else uses.
  let audioProducerId: string | null = null;
  const audioTrack = stream.getAudioTracks()[0];
  if (audioTrack) {
    const audio = await t.produce({ track: audioTrack as never, codecOptions: { opusDtx: false, opusFec: true }, appData: { source: 'microphone' } });
    audioProducerId = audio.id;
  }
  const vp8 = device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
  const [low, mid, high] = o.layerBitrates;
  const video = await t.produce({
    track: videoTrack as never,
    codec: vp8,
    encodings: [
      { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: low },
      { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: mid },
      { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: high },
    ],
    // Start near the target instead of ramping up from Chrome's 300 kbps default.
    codecOptions: { videoGoogleStartBitrate: Math.round((low + mid + high) / 1000) },
    appData: { source: 'camera' },
  });
  return {
    transportId: t.id,
    videoProducerId: video.id,
    audioProducerId,
    handler: device.handlerName,
    captured: { width: settings.width ?? 0, height: settings.height ?? 0, frameRate: settings.frameRate ?? 0 },
  };
}

async function publishWhip(o: WhipPublishOptions): Promise<PublishInfo> {
  const stream = await win.navigator.mediaDevices.getUserMedia({
    audio: o.audio,
    video: { width: { ideal: o.width }, height: { ideal: o.height }, frameRate: { ideal: o.fps } },
  });
  const videoTrack = stream.getVideoTracks()[0]!;
  const settings = videoTrack.getSettings();
  const pc = new win.RTCPeerConnection();
  const audioTrack = stream.getAudioTracks()[0];
  if (audioTrack) pc.addTransceiver(audioTrack, { direction: 'sendonly' });
  const [low, mid, high] = o.layerBitrates;
  // OBS 32's simulcast: rids "0" (full size) to "2", listed highest first.
  const video = pc.addTransceiver(videoTrack, {
    direction: 'sendonly',
    sendEncodings: [
      { rid: '0', scaleResolutionDownBy: 1, maxBitrate: high },
      { rid: '1', scaleResolutionDownBy: 2, maxBitrate: mid },
      { rid: '2', scaleResolutionDownBy: 4, maxBitrate: low },
    ],
  });
  const mime = o.codec === 'h264' ? 'video/H264' : 'video/VP8';
  video.setCodecPreferences(win.RTCRtpSender.getCapabilities('video').codecs.filter((c) => c.mimeType === mime || c.mimeType === 'video/rtx'));
  // Not something OBS sends: Chrome's capture clock on the video, for the viewers' capture → arrival figure (capture-delay.ts).
  video.setHeaderExtensionsToNegotiate(video.getHeaderExtensionsToNegotiate().map((e) => (e.uri === ABS_CAPTURE_TIME_URI ? { ...e, direction: 'sendonly' } : e)));
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const res = await win.fetch(o.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${o.key}` }, body: offer.sdp });
  const answer = await res.text();
  if (res.status !== 201) throw new Error(`WHIP POST answered ${res.status}: ${answer}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed') reject(new Error('WHIP connection failed'));
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
  transport = pc;
  return {
    transportId: res.headers.get('Location') ?? '',
    videoProducerId: '',
    audioProducerId: null,
    handler: `whip/${o.codec}`,
    captured: { width: settings.width ?? 0, height: settings.height ?? 0, frameRate: settings.frameRate ?? 0 },
  };
}

async function uploadStats(): Promise<UploadStats> {
  const out: UploadStats = { at: Date.now(), transportBytesSent: 0, videoBytesSent: 0, audioBytesSent: 0, retransmittedBytesSent: 0, layers: [] };
  if (!transport) return out;
  const report = (await transport.getStats()) as unknown as { forEach(cb: (s: StatsEntry) => void): void };
  const entries: StatsEntry[] = [];
  report.forEach((s) => entries.push(s));
  const byId = new Map(entries.map((s) => [s.id, s]));
  const transportStats = entries.find((s) => s.type === 'transport');
  const pair = (transportStats?.selectedCandidatePairId && byId.get(transportStats.selectedCandidatePairId)) || entries.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  out.transportBytesSent = pair?.bytesSent ?? transportStats?.bytesSent ?? 0;
  for (const s of entries) {
    if (s.type !== 'outbound-rtp') continue;
    const bytes = (s.bytesSent ?? 0) + (s.headerBytesSent ?? 0);
    out.retransmittedBytesSent += s.retransmittedBytesSent ?? 0;
    if (s.kind === 'audio') {
      out.audioBytesSent += bytes;
      continue;
    }
    out.videoBytesSent += bytes;
    out.layers.push({
      rid: s.rid ?? '',
      bytesSent: bytes,
      packetsSent: s.packetsSent ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      framesPerSecond: s.framesPerSecond ?? 0,
      framesEncoded: s.framesEncoded ?? 0,
      keyFramesEncoded: s.keyFramesEncoded ?? 0,
      qualityLimitationReason: s.qualityLimitationReason ?? '',
      targetBitrate: s.targetBitrate ?? 0,
      totalEncodeTime: s.totalEncodeTime ?? 0,
      totalPacketSendDelay: s.totalPacketSendDelay ?? 0,
    });
  }
  out.layers.sort((a, b) => a.rid.localeCompare(b.rid));
  return out;
}

win.__publisher = { publish, publishWhip, uploadStats };
