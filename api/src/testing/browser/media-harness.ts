// Browser side of the media tests: a bare streamer and viewer on mediasoup-client,
// speaking the documented protocol over the stream WebSocket (same origin, cookie auth).
import { Device } from 'mediasoup-client';
import type { Consumer, Producer, Transport } from 'mediasoup-client/types';
import type { ClientMessage } from '../../protocol/client-messages.ts';
import type { Layer } from '../../protocol/constants.ts';
import type { ProducerInfo } from '../../protocol/common.ts';
import type { ServerMessage, ServerMessageOf } from '../../protocol/server-messages.ts';
import { sampleLatency } from './timestamp-code.ts';

type Pending = { resolve: (m: ServerMessage) => void; reject: (e: Error) => void };

class Signaling {
  ws!: WebSocket;
  established!: ServerMessageOf<'connection_established'>;
  readonly pending = new Map<string, Pending>();
  readonly listeners: ((m: ServerMessage) => void)[] = [];
  log: string[] = [];
  #next = 1;

  async open(streamId: number): Promise<void> {
    this.ws = new WebSocket(`${location.origin.replace('http', 'ws')}/ws/live/${streamId}`);
    this.established = await new Promise((resolve, reject) => {
      this.ws.onerror = () => reject(new Error('ws error'));
      this.ws.onclose = (e) => reject(new Error(`ws closed ${e.code}`));
      this.ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data as string) as ServerMessage;
        this.log.push(msg.type);
        if (msg.type === 'connection_established') resolve(msg);
        const id = (msg as { requestId?: string }).requestId;
        if (id && this.pending.has(id)) {
          const p = this.pending.get(id)!;
          this.pending.delete(id);
          if (msg.type === 'error') p.reject(new Error(`${msg.error.code}: ${msg.error.message}`));
          else p.resolve(msg);
          return;
        }
        for (const l of this.listeners) l(msg);
      };
    });
  }

  request<T extends ServerMessage['type']>(msg: Omit<ClientMessage, 'requestId'> & Record<string, unknown>): Promise<ServerMessageOf<T>> {
    const requestId = `h${this.#next++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve: resolve as (m: ServerMessage) => void, reject });
      this.ws.send(JSON.stringify({ ...msg, requestId }));
    });
  }
}

type IceProtocol = 'udp' | 'tcp';

async function createTransport(sig: Signaling, device: Device, direction: 'send' | 'recv', only?: IceProtocol): Promise<Transport> {
  const offer = await sig.request<'offer'>({ type: 'create_transport', direction });
  if (offer.kind !== 'transport') throw new Error('expected a transport offer');
  const params = offer.transport as Parameters<Device['createSendTransport']>[0];
  // A network that blocks UDP, as the browser sees it: only the server's TCP candidate is left.
  if (only) params.iceCandidates = params.iceCandidates.filter((c) => c.protocol === only);
  const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, ok, fail) => {
    sig.request({ type: 'answer', kind: 'connect', transportId: transport.id, dtlsParameters }).then(() => ok(), fail);
  });
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      sig
        .request<'produced'>({ type: 'answer', kind: 'produce', transportId: transport.id, mediaKind: kind, source: (appData as { source: string }).source, rtpParameters })
        .then((r) => ok({ id: r.producerId }), fail);
    });
  }
  return transport;
}

function animatedCanvasTrack(): MediaStreamTrack {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  setInterval(() => {
    n++;
    ctx.fillStyle = `hsl(${(n * 7) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#fff';
    ctx.font = '48px sans-serif';
    ctx.fillText(`screen ${n}`, 40, 180);
  }, 33);
  return canvas.captureStream(30).getVideoTracks()[0]!;
}

const streamer = {
  sig: null as Signaling | null,
  device: null as Device | null,
  transport: null as Transport | null,
  producers: new Map<string, Producer>(),
  tracks: [] as { track: MediaStreamTrack; source: string }[],
  republishes: 0,
};

async function produceAll(): Promise<void> {
  const { sig, device } = streamer;
  if (!sig || !device) throw new Error('not connected');
  streamer.transport = await createTransport(sig, device, 'send');
  streamer.producers.clear();
  for (const { track, source } of streamer.tracks) await produceTrack(track, source);
}

async function produceTrack(track: MediaStreamTrack, source: string): Promise<Producer> {
  const t = streamer.transport!;
  const producer =
    source === 'camera'
      ? await t.produce({
          track,
          encodings: [
            { rid: 'r0', maxBitrate: 150_000, scaleResolutionDownBy: 4 },
            { rid: 'r1', maxBitrate: 500_000, scaleResolutionDownBy: 2 },
            { rid: 'r2', maxBitrate: 1_200_000, scaleResolutionDownBy: 1 },
          ],
          codecOptions: { videoGoogleStartBitrate: 1000 },
          appData: { source },
          // The same tracks are re-published after a media_reset: closing a producer must not stop them.
          stopTracks: false,
        })
      : await t.produce({ track, appData: { source }, stopTracks: false });
  streamer.producers.set(source, producer);
  return producer;
}

/** ~30 s of camera frames at 30 fps. */
const MAX_FRAME_TIMES = 1000;

const viewer = {
  sig: null as Signaling | null,
  device: null as Device | null,
  transport: null as Transport | null,
  consumers: new Map<string, Consumer>(),
  layer: 'auto' as Layer,
  iceProtocol: undefined as IceProtocol | undefined,
  resets: 0,
  startedAt: 0,
  firstFrameAt: 0,
  /** ms from watch() to each decoded camera frame: a gap shows a stall. */
  frameTimes: [] as number[],
};

async function consume(p: ProducerInfo): Promise<void> {
  const { sig, device, transport } = viewer;
  if (!sig || !device || !transport) return;
  const offer = await sig.request<'offer'>({ type: 'consume', transportId: transport.id, producerId: p.id, rtpCapabilities: device.rtpCapabilities });
  if (offer.kind !== 'consumer') throw new Error('expected a consumer offer');
  const c = offer.consumer;
  const consumer = await transport.consume({ id: c.id, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters as never, appData: { source: c.source } });
  viewer.consumers.set(consumer.id, consumer);
  if (c.kind === 'video') {
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.dataset.source = c.source;
    video.srcObject = new MediaStream([consumer.track]);
    if (c.source === 'camera') {
      const onFrame = () => {
        const now = performance.now();
        viewer.firstFrameAt ||= now;
        if (viewer.frameTimes.length < MAX_FRAME_TIMES) viewer.frameTimes.push(now - viewer.startedAt);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    document.body.append(video);
    if (c.source === 'camera' && viewer.layer !== 'auto') await sig.request({ type: 'set_layer', consumerId: consumer.id, layer: viewer.layer });
  }
  await sig.request({ type: 'resume_consumer', consumerId: consumer.id });
}

const knownProducers = new Map<string, ProducerInfo>();

async function startViewing(): Promise<void> {
  const { sig, device } = viewer;
  if (!sig || !device) return;
  for (const v of document.querySelectorAll('video')) v.remove();
  viewer.consumers.clear();
  viewer.transport = await createTransport(sig, device, 'recv', viewer.iceProtocol);
  for (const p of knownProducers.values()) await consume(p);
}

const harness = {
  async publish(streamId: number): Promise<{ producers: number }> {
    const sig = new Signaling();
    await sig.open(streamId);
    const device = new Device();
    await device.load({ routerRtpCapabilities: sig.established.routerRtpCapabilities as never });
    Object.assign(streamer, { sig, device });
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
    streamer.tracks = [
      { track: media.getVideoTracks()[0]!, source: 'camera' },
      { track: media.getAudioTracks()[0]!, source: 'microphone' },
    ];
    sig.listeners.push((m) => {
      if (m.type === 'media_reset') {
        streamer.republishes++;
        streamer.transport?.close();
        void produceAll();
      }
    });
    await produceAll();
    return { producers: streamer.producers.size };
  },

  /** A fake screen capture: an animated canvas, published as the `screen` source. */
  async shareScreen(): Promise<string> {
    const track = animatedCanvasTrack();
    streamer.tracks.push({ track, source: 'screen' });
    return (await produceTrack(track, 'screen')).id;
  },

  async endStream(): Promise<void> {
    await streamer.sig!.request({ type: 'end_stream' });
  },

  /** The largest frame the streamer's encoder sends now (the top simulcast layer). */
  async streamerTopFrameSize(): Promise<{ width: number; height: number }> {
    let best = { width: 0, height: 0 };
    const stats = await streamer.transport!.getStats();
    stats.forEach((s: { type: string; kind?: string; frameWidth?: number; frameHeight?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.frameWidth ?? 0) > best.width) best = { width: s.frameWidth ?? 0, height: s.frameHeight ?? 0 };
    });
    return best;
  },

  async streamerVideoBytesSent(): Promise<number> {
    let bytes = 0;
    const stats = await streamer.transport!.getStats();
    stats.forEach((s: { type: string; kind?: string; bytesSent?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') bytes += s.bytesSent ?? 0;
    });
    return bytes;
  },

  async watch(streamId: number, layer: Layer = 'auto', iceProtocol?: IceProtocol): Promise<void> {
    viewer.startedAt = performance.now();
    const sig = new Signaling();
    await sig.open(streamId);
    const device = new Device();
    await device.load({ routerRtpCapabilities: sig.established.routerRtpCapabilities as never });
    Object.assign(viewer, { sig, device, layer, iceProtocol });
    for (const p of sig.established.producers) knownProducers.set(p.id, p);
    sig.listeners.push((m) => {
      if (m.type === 'producer_added') {
        knownProducers.set(m.producer.id, m.producer);
        void consume(m.producer);
      }
      if (m.type === 'producer_removed') knownProducers.delete(m.producerId);
      if (m.type === 'media_reset') {
        viewer.resets++;
        viewer.transport?.close();
        // 'all': the producers are gone and come back as producer_added; 'viewers': they are intact.
        if (m.scope === 'all') knownProducers.clear();
        void startViewing();
      }
    });
    await startViewing();
  },

  async viewerStats(): Promise<{ videos: { source: string; framesDecoded: number; frameWidth: number; frameHeight: number; width: number; height: number }[]; audioPackets: number; resets: number }> {
    const videos: { source: string; framesDecoded: number; frameWidth: number; frameHeight: number; width: number; height: number }[] = [];
    let audioPackets = 0;
    for (const c of viewer.consumers.values()) {
      const stats = await c.getStats();
      stats.forEach((s: { type: string; kind?: string; framesDecoded?: number; frameWidth?: number; frameHeight?: number; packetsReceived?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') audioPackets += s.packetsReceived ?? 0;
        if (s.kind === 'video') {
          const el = [...document.querySelectorAll('video')].find((v) => (v.srcObject as MediaStream | null)?.getTracks()[0] === c.track);
          videos.push({
            source: String((c.appData as { source?: string }).source),
            framesDecoded: s.framesDecoded ?? 0,
            frameWidth: s.frameWidth ?? 0,
            frameHeight: s.frameHeight ?? 0,
            width: el?.videoWidth ?? 0,
            height: el?.clientHeight ?? 0,
          });
        }
      });
    }
    return { videos, audioPackets, resets: viewer.resets };
  },

  /** Glass-to-glass ms of the camera, read from timestamps a WHIP test publisher draws into its frames. */
  latencySamples(count: number): Promise<number[]> {
    const video = [...document.querySelectorAll('video')].find((v) => v.dataset.source === 'camera');
    if (!video) throw new Error('no camera video yet');
    return sampleLatency(video, count, 20_000);
  },

  /** The viewer transport's selected ICE candidate pair: the server's side of it. */
  async viewerRoute(): Promise<{ protocol: string; remotePort: number; srtpCipher: string } | null> {
    const stats = await viewer.transport!.getStats();
    let pairId: string | undefined;
    let srtpCipher = '';
    stats.forEach((s: { type: string; selectedCandidatePairId?: string; srtpCipher?: string }) => {
      if (s.type !== 'transport') return;
      pairId = s.selectedCandidatePairId;
      srtpCipher = s.srtpCipher ?? '';
    });
    const pair = pairId ? (stats.get(pairId) as { remoteCandidateId?: string } | undefined) : undefined;
    const remote = pair?.remoteCandidateId ? (stats.get(pair.remoteCandidateId) as { protocol?: string; port?: number } | undefined) : undefined;
    return remote ? { protocol: remote.protocol ?? '', remotePort: remote.port ?? 0, srtpCipher } : null;
  },

  /** ms from the viewer's WebSocket connect to the first decoded camera frame (0 until then). */
  timeToFirstFrame(): number {
    return viewer.firstFrameAt ? viewer.firstFrameAt - viewer.startedAt : 0;
  },

  /** ms from watch() to each camera frame decoded so far. */
  cameraFrameTimes(): number[] {
    return [...viewer.frameTimes];
  },

  log(): string[] {
    return [...(streamer.sig?.log ?? []), ...(viewer.sig?.log ?? [])];
  },
};

(window as unknown as { harness: typeof harness }).harness = harness;
document.title = 'harness ready';
