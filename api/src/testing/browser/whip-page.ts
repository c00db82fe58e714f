// An encoder and a player that are not our code path: RTCPeerConnection and
// fetch only, as OBS (libdatachannel + curl) and a standard WHEP player do.
// The publisher sends H.264 only (setCodecPreferences) and Opus, with or
// without rid simulcast; the player offers recvonly audio + video.
import { drawTimestamp, sampleLatency } from './timestamp-code.ts';

interface PublishOptions {
  endpoint: string;
  key: string;
  width: number;
  height: number;
  /** sendEncodings, in the order the page lists them (not necessarily by quality). */
  encodings?: { rid: string; scaleResolutionDownBy: number; maxBitrate: number }[];
  maxBitrate?: number;
  /** Keep the frame size while the bandwidth estimate ramps up, as OBS does (Chromium's default lowers it first). */
  maintainResolution?: boolean;
}

const publisher = {
  pc: null as RTCPeerConnection | null,
  location: '',
  key: '',
  canvas: null as HTMLCanvasElement | null,
  timer: 0,
  lastAnswer: '',
};

function canvasTrack(width: number, height: number): MediaStreamTrack {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  window.clearInterval(publisher.timer);
  publisher.timer = window.setInterval(() => {
    n++;
    // Motion everywhere, so every layer keeps coding real content.
    ctx.fillStyle = `hsl(${(n * 5) % 360} 60% 45%)`;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = `hsl(${(n * 5 + 180) % 360} 60% 55%)`;
    ctx.fillRect((n * 8) % width, height / 3, width / 6, height / 3);
    drawTimestamp(ctx, width, Date.now());
  }, 1000 / 30);
  publisher.canvas = canvas;
  return canvas.captureStream(30).getVideoTracks()[0]!;
}

function toneTrack(): MediaStreamTrack {
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const out = audio.createMediaStreamDestination();
  osc.connect(out);
  osc.start();
  return out.stream.getAudioTracks()[0]!;
}

async function connected(pc: RTCPeerConnection, timeoutMs = 15_000): Promise<void> {
  if (pc.connectionState === 'connected') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected: ${pc.connectionState}`)), timeoutMs);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        resolve();
      }
      if (pc.connectionState === 'failed') reject(new Error('connection failed'));
    });
  });
}

const page = {
  async publish(opts: PublishOptions): Promise<{ status: number; location: string; answer: string; error?: string }> {
    const pc = new RTCPeerConnection();
    const stream = new MediaStream();
    pc.addTransceiver(toneTrack(), { direction: 'sendonly', streams: [stream] });
    const video = pc.addTransceiver(canvasTrack(opts.width, opts.height), {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: opts.encodings ?? [{ maxBitrate: opts.maxBitrate ?? 2_500_000 }],
    });
    if (opts.maintainResolution) {
      const params = video.sender.getParameters();
      params.degradationPreference = 'maintain-resolution';
      await video.sender.setParameters(params);
    }
    // H.264 only, as OBS's x264/NVENC output is.
    video.setCodecPreferences(RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => c.mimeType === 'video/H264' || c.mimeType === 'video/rtx'));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const res = await fetch(opts.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${opts.key}` }, body: offer.sdp });
    const body = await res.text();
    if (res.status !== 201) {
      pc.close();
      return { status: res.status, location: '', answer: '', error: body };
    }
    publisher.location = new URL(res.headers.get('Location')!, opts.endpoint).toString();
    publisher.key = opts.key;
    publisher.lastAnswer = body;
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    publisher.pc = pc;
    await connected(pc);
    return { status: res.status, location: publisher.location, answer: body };
  },

  /** What the encoder sends: bytes and frame size per layer, and why it is limited. */
  async publisherStats(): Promise<{ bytesSent: number; layers: { rid: string; bytesSent: number; frameWidth: number; frameHeight: number; framesEncoded: number; qualityLimitationReason: string; encoderImplementation: string }[] }> {
    const layers: Awaited<ReturnType<typeof page.publisherStats>>['layers'] = [];
    let bytesSent = 0;
    (await publisher.pc!.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      bytesSent += Number(s.bytesSent ?? 0);
      layers.push({
        rid: String(s.rid ?? ''),
        bytesSent: Number(s.bytesSent ?? 0),
        frameWidth: Number(s.frameWidth ?? 0),
        frameHeight: Number(s.frameHeight ?? 0),
        framesEncoded: Number(s.framesEncoded ?? 0),
        qualityLimitationReason: String(s.qualityLimitationReason ?? ''),
        encoderImplementation: String(s.encoderImplementation ?? ''),
      });
    });
    return { bytesSent, layers };
  },

  /** Stops publishing; `sendDelete` false is an encoder whose network dropped (its DTLS close still reaches us). */
  async stopPublishing(sendDelete: boolean): Promise<number> {
    publisher.pc?.close();
    publisher.pc = null;
    if (!sendDelete) return 0;
    const res = await fetch(publisher.location, { method: 'DELETE', headers: { Authorization: `Bearer ${publisher.key}` } });
    return res.status;
  },

  ...player(),
};

function player() {
  const state = { pc: null as RTCPeerConnection | null, video: null as HTMLVideoElement | null, location: '' };
  return {
    async play(endpoint: string): Promise<{ status: number; error?: string }> {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      document.body.append(video);
      pc.ontrack = (e) => {
        if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]);
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
      const body = await res.text();
      if (res.status !== 201) {
        pc.close();
        return { status: res.status, error: body };
      }
      state.location = new URL(res.headers.get('Location')!, endpoint).toString();
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      Object.assign(state, { pc, video });
      await connected(pc);
      return { status: res.status };
    },

    async playerStats(): Promise<{ framesDecoded: number; frameWidth: number; frameHeight: number; audioPackets: number; codec: string }> {
      const out = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioPackets: 0, codec: '' };
      const stats = await state.pc!.getStats();
      stats.forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') out.audioPackets += Number(s.packetsReceived ?? 0);
        if (s.kind !== 'video') return;
        out.framesDecoded = Number(s.framesDecoded ?? 0);
        out.frameWidth = Number(s.frameWidth ?? 0);
        out.frameHeight = Number(s.frameHeight ?? 0);
        const codec = stats.get(String(s.codecId)) as { mimeType?: string } | undefined;
        out.codec = codec?.mimeType ?? '';
      });
      return out;
    },

    /** Glass-to-glass: the age of the timestamp in each of the next `count` readable frames the player shows. */
    latencySamples(count: number, timeoutMs = 20_000): Promise<number[]> {
      return sampleLatency(state.video!, count, timeoutMs);
    },

    async leave(): Promise<number> {
      state.pc?.close();
      state.video?.remove();
      return (await fetch(state.location, { method: 'DELETE' })).status;
    },
  };
}

(window as unknown as { whip: typeof page }).whip = page;
document.title = 'whip ready';
