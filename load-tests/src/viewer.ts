import { RTCPeerConnection, useSdesMid, useTransportWideCC } from 'werift';
import type { ServerMessage } from '@redred/api/protocol';
import type { CaptureDelayResult } from './capture-delay.ts';
import { noRtcp, rtcpDiff, type RtcpCounts } from './rtcp-sent.ts';
import { RtpMeter, lossBetween, type MeterSnapshot } from './rtp-meter.ts';
import { ABS_CAPTURE_TIME_URI, ABS_SEND_TIME_URI, buildRecvOfferSdp, dtlsParametersFromSdp, viewerRtpCapabilities, type ConsumerParams, type TransportParams } from './sdp.ts';
import type { LeanReceiver } from './lean-rx.ts';
import { SignalingClient } from './signaling.ts';
import { nowMs } from './stats.ts';
import { Vp8Validator, type DecryptStats } from './vp8-validator.ts';
import { codecs, nominatedUdp, skipStunGathering, tapMedia } from './werift-hooks.ts';

export type ViewerMode = 'decrypt' | 'rtcp' | 'count';
export type ViewerLayer = 'auto' | 'low' | 'medium' | 'high';

export interface ViewerOptions {
  index: number;
  wsUrl: string;
  /**
   * 'decrypt': werift decrypts SRTP and every video packet's VP8 header is
   * checked. 'rtcp': werift's full receive path without the VP8 checks, with
   * NACK, PLI and transport-cc negotiated: it sends what werift's receiver
   * sends (receiver reports, NACKs, transport-cc feedback), like a browser.
   * 'count': ICE, DTLS and the SRTP key exchange happen for real, then
   * packets are counted from their (clear) RTP headers without decryption,
   * and no RTCP is sent.
   */
  mode: ViewerMode;
  /** A probe joins after the crowd settled (see viewer-process.ts). */
  probe?: boolean;
  /** Pin ICE to this local address (the loopback address when the server is local). */
  localAddress: string | null;
  /** Simulcast layer to ask for; null keeps the server's default. */
  layer: ViewerLayer | null;
  /** Give up joining after this long. */
  joinTimeoutMs?: number;
  /** 'count' mode: the process's batch receiver; without it (or when it cannot take the socket) packets are counted from Node's dgram. */
  leanRx?: LeanReceiver | null;
  /** 'decrypt' mode: called with each complete, valid, decrypted VP8 frame (tests wait on it instead of polling). */
  onFrame?: (frame: { keyframe: boolean; width: number; height: number }) => void;
  /** Every server message the viewer parses, and the socket's close (tests follow the stream's life with it). */
  onMessage?: (msg: ServerMessage) => void;
  onClose?: (code: number) => void;
}

export interface ViewerResult {
  index: number;
  mode: ViewerMode;
  probe: boolean;
  ok: boolean;
  error: string | null;
  startedAt: number;
  /** Join start → both consumers resumed over a connected (ICE + DTLS) transport. */
  joinMs: number | null;
  /** Join start → DTLS connected. */
  connectMs: number | null;
  /** Join start → first complete video frame on the wire. */
  ttffMs: number | null;
  /** Join start → fifth complete frame (video flowing, not a frame then a stall). */
  playingMs: number | null;
  maxFrameGapMs: number;
  /** Milestones of the join (ms since its start): ws, transport, consumed, answered, dtls, resumed. */
  phases: Record<string, number>;
  /** The measurement window (from `mark()` or the first packet, to `finish()`). */
  window: { seconds: number; bytes: number; packets: number; expected: number; loss: number; kbps: number; frames: number; fps: number; rtcpSent: RtcpCounts } | null;
  total: { packets: number; bytes: number; expected: number; rtcp: number; brokenFrames: number; completeFrames: number };
  decrypt: DecryptStats | null;
  /** Capture (the publisher's abs-capture-time) → arrival of each frame's first packet, over the window; null when not negotiated. */
  captureDelay: CaptureDelayResult | null;
  /** RTCP this viewer sent over its whole life, by type ('decrypt' viewers send receiver reports only, 'count' viewers nothing). */
  rtcpSent: RtcpCounts;
  /** How media reached the meter: werift (decrypt mode), Node's dgram (tap), or the batch receiver (lean-rx helper). */
  receivePath: 'werift' | 'dgram' | 'lean-rx';
  events: { mediaReset: number; consumerClosed: number; socketClosed: boolean };
}

/**
 * `{"type":"comment…`, `{"type":"chat_…` and `{"type":"viewers_update"`: broadcasts
 * every viewer socket receives; only signaling matters to a viewer. Byte 9 is the
 * type's first letter.
 */
function isChatOrPresence(data: Buffer): boolean {
  const c = data[9];
  if (c === 0x76) return true; // v: viewers_update
  if (c !== 0x63) return false; // c: comment*, chat_*, but also connection_established, consumer_closed
  const d = data[10];
  return d === 0x68 || (d === 0x6f && data[11] === 0x6d); // ch…, com…
}


/**
 * One real WebRTC viewer: joins over the stream WebSocket like a browser
 * (recv transport, consume video + audio paused, ICE + DTLS, resume), then
 * meters what arrives.
 */
export class LoadViewer {
  readonly options: ViewerOptions;
  readonly startedAt = nowMs();
  #sig: SignalingClient | null = null;
  #pc: RTCPeerConnection | null = null;
  #meter: RtpMeter | null = null;
  #validator: Vp8Validator | null = null;
  #mark: MeterSnapshot | null = null;
  #end: MeterSnapshot | null = null;
  readonly #rtcpSent = noRtcp();
  #rtcpAtMark: RtcpCounts | null = null;
  #rtcpAtEnd: RtcpCounts | null = null;
  #error: string | null = null;
  #connectedAt: number | null = null;
  #resumedAt: number | null = null;
  readonly #events = { mediaReset: 0, consumerClosed: 0, socketClosed: false };
  readonly #phases: Record<string, number> = {};
  #closed = false;
  #leanId: number | null = null;

  constructor(options: ViewerOptions) {
    this.options = options;
  }

  get connected(): boolean {
    return this.#resumedAt !== null && this.#error === null;
  }

  get failed(): boolean {
    return this.#error !== null;
  }

  get meter(): RtpMeter | null {
    return this.#meter;
  }

  /** Joins; never throws (a failure is recorded in the result). */
  async join(): Promise<void> {
    const timeoutMs = this.options.joinTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#join(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`join took over ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      if (!this.#closed) this.#error = err instanceof Error ? err.message : String(err);
      // A client that gives up leaves: the server must not keep counting it.
      await this.#release();
    } finally {
      clearTimeout(timer);
    }
  }

  async #join(): Promise<void> {
    const sig = await SignalingClient.connect(this.options.wsUrl);
    this.#sig = sig;
    this.#stillJoining();
    // Chat and presence broadcasts reach every viewer socket; only signaling matters here.
    sig.onFrame = isChatOrPresence;
    sig.onMessage = (msg: ServerMessage) => {
      if (msg.type === 'media_reset') this.#events.mediaReset++;
      else if (msg.type === 'consumer_closed') this.#events.consumerClosed++;
      this.options.onMessage?.(msg);
    };
    sig.onClose = (code) => {
      this.#events.socketClosed = true;
      this.options.onClose?.(code);
    };
    const established = await sig.established;
    this.#phase('ws');
    const producers = [...established.producers];
    if (!producers.some((p) => p.kind === 'video')) {
      // Joined before the streamer published: wait for the announcement.
      await new Promise<void>((resolve) => {
        const previous = sig.onMessage;
        sig.onMessage = (msg) => {
          previous?.(msg);
          if (msg.type === 'producer_added') {
            producers.push(msg.producer);
            if (msg.producer.kind === 'video') resolve();
          }
        };
      });
    }
    const video = producers.find((p) => p.kind === 'video' && p.source === 'camera') ?? producers.find((p) => p.kind === 'video')!;
    const audio = producers.find((p) => p.kind === 'audio');
    // The decrypting sample stays without feedback, a control: the pinned layer as forwarded, nothing repaired by NACK, no bandwidth estimation choosing its layer.
    const feedback = this.options.mode === 'rtcp';
    const rtpCapabilities = viewerRtpCapabilities(established.routerRtpCapabilities, { feedback });
    this.#stillJoining();

    const offer = await sig.request({ type: 'create_transport', direction: 'recv' });
    const transport = offer.transport as unknown as TransportParams;
    this.#phase('transport');
    const consumers: ConsumerParams[] = [];
    for (const producer of [video, audio]) {
      if (!producer) continue;
      const reply = await sig.request({ type: 'consume', transportId: transport.id, producerId: producer.id, rtpCapabilities });
      consumers.push({ id: reply.consumer.id, kind: reply.consumer.kind, rtpParameters: reply.consumer.rtpParameters as ConsumerParams['rtpParameters'] });
    }
    this.#phase('consumed');
    const videoConsumer = consumers.find((c) => c.kind === 'video')!;
    const audioConsumer = consumers.find((c) => c.kind === 'audio');
    const extensionId = (uri: string) => videoConsumer.rtpParameters.headerExtensions?.find((h) => h.uri === uri)?.id ?? null;
    const meter = new RtpMeter(
      { video: videoConsumer.rtpParameters.codecs[0]!.payloadType, audio: audioConsumer?.rtpParameters.codecs[0]!.payloadType ?? -1 },
      { absCaptureTime: extensionId(ABS_CAPTURE_TIME_URI), absSendTime: extensionId(ABS_SEND_TIME_URI) },
    );
    this.#meter = meter;

    const local = this.options.localAddress;
    this.#stillJoining();
    const pc = new RTCPeerConnection({
      // A closed network: werift's default STUN server is unreachable and only delays gathering.
      iceServers: [],
      bundlePolicy: 'max-bundle',
      codecs: codecs(feedback),
      headerExtensions: { video: feedback ? [useSdesMid(), useTransportWideCC()] : [useSdesMid()], audio: [useSdesMid()] },
      iceUseIpv6: false,
      ...(local ? { iceAdditionalHostAddresses: [local], iceFilterCandidatePair: (pair) => pair.localCandidate.host === local } : {}),
    });
    this.#pc = pc;
    // VP8 frames are checked after decryption; an H.264 stream (OBS over WHIP) is decrypted and counted.
    const vp8 = /vp8/i.test(videoConsumer.rtpParameters.codecs[0]!.mimeType);
    if (this.options.mode === 'decrypt' && vp8) {
      const validator = new Vp8Validator(this.startedAt, this.options.onFrame);
      this.#validator = validator;
      pc.onTrack.subscribe((track) => {
        if (track.kind === 'video') track.onReceiveRtp.subscribe((rtp) => validator.onVideo(rtp));
        else track.onReceiveRtp.subscribe(() => validator.stats.audioPackets++);
      });
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: buildRecvOfferSdp(transport, consumers) });
    skipStunGathering(pc);
    const answer = await pc.createAnswer();
    const connected = new Promise<void>((resolve, reject) => {
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') resolve();
        else if (state === 'failed' || state === 'closed') reject(new Error(`transport ${state}`));
      });
    });
    connected.catch(() => {});
    // The SFU must know our fingerprint before our DTLS ClientHello reaches it.
    const connectAck = sig.request({ type: 'answer', kind: 'connect', transportId: transport.id, dtlsParameters: dtlsParametersFromSdp(answer.sdp) });
    await connectAck;
    this.#phase('answered');
    await pc.setLocalDescription(answer);
    await connected;
    this.#stillJoining();
    this.#connectedAt = nowMs();
    this.#phase('dtls');
    tapMedia(pc, (data) => meter.onPacket(data, nowMs()), this.options.mode !== 'count', this.#rtcpSent);
    // Before resuming: no media flows yet, so no packet is counted twice or out of order across the switch.
    if (this.options.mode === 'count' && this.options.leanRx) await this.#handOff(pc, meter, this.options.leanRx);
    if (this.options.layer) {
      await sig.request({ type: 'set_layer', consumerId: videoConsumer.id, layer: this.options.layer });
    }
    await Promise.all(consumers.map((c) => sig.request({ type: 'resume_consumer', consumerId: c.id })));
    this.#resumedAt = nowMs();
    this.#phase('resumed');
  }

  /**
   * Moves receiving to the batch receiver: the helper joins werift's port and
   * takes every datagram the SFU sends it; media goes to the meter, STUN and
   * DTLS back into werift (consent checks keep their answers). Stays on the
   * dgram tap when there is no IPv4 nominated pair or the helper refuses.
   */
  async #handOff(pc: RTCPeerConnection, meter: RtpMeter, lean: LeanReceiver): Promise<void> {
    const nominated = nominatedUdp(pc);
    const local = nominated?.udp.socket?.address();
    if (!nominated || !local || local.family !== 'IPv4') return;
    const { udp, remoteAddr } = nominated;
    const { id, ready } = lean.attach(local, { address: remoteAddr[0], port: remoteAddr[1] }, {
      onMedia: (head, wireBytes, at) => meter.onPacket(head, at, wireBytes),
      onOther: (data) => udp.onData(data, remoteAddr),
    });
    this.#leanId = id;
    try {
      await ready;
    } catch {
      this.#leanId = null;
    }
  }

  /** After a timeout or close, a join still in flight must stop and not resurrect anything. */
  #stillJoining(): void {
    if (this.#closed || this.#error !== null) {
      this.#sig?.close();
      throw new Error('join abandoned');
    }
  }

  #phase(name: string): void {
    this.#phases[name] = Math.round(nowMs() - this.startedAt);
  }

  /** Starts the measurement window now. */
  mark(): void {
    this.#rtcpAtMark = { ...this.#rtcpSent };
    if (!this.#meter) return;
    this.#mark = this.#meter.snapshot(nowMs());
    this.#meter.captureDelay?.mark();
  }

  /** Ends the measurement window now (before teardown, so closing does not count as loss). */
  finish(): void {
    if (this.#meter && !this.#end) {
      this.#end = this.#meter.snapshot(nowMs());
      this.#meter.captureDelay?.finish();
      this.#rtcpAtEnd = { ...this.#rtcpSent };
    }
  }

  result(): ViewerResult {
    const m = this.#meter;
    const rel = (t: number | null) => (t === null ? null : t - this.startedAt);
    let window: ViewerResult['window'] = null;
    if (m && m.firstPacketAt !== null) {
      const start = this.#mark && this.#mark.at >= m.firstPacketAt ? this.#mark : { at: m.firstPacketAt, packets: 0, bytes: 0, expected: 0, videoFrames: 0 };
      const end = this.#end ?? m.snapshot(nowMs());
      const seconds = (end.at - start.at) / 1000;
      const bytes = end.bytes - start.bytes;
      window =
        seconds > 0
          ? {
              seconds,
              bytes,
              packets: end.packets - start.packets,
              expected: end.expected - start.expected,
              loss: lossBetween(start, end),
              kbps: (bytes * 8) / seconds / 1000,
              frames: end.videoFrames - start.videoFrames,
              fps: (end.videoFrames - start.videoFrames) / seconds,
              // Sent from the mark (or since joining) to the window's end, like the packets.
              rtcpSent: rtcpDiff(start === this.#mark ? (this.#rtcpAtMark ?? noRtcp()) : noRtcp(), this.#rtcpAtEnd ?? { ...this.#rtcpSent }),
            }
          : null;
    }
    return {
      index: this.options.index,
      mode: this.options.mode,
      probe: this.options.probe ?? false,
      ok: this.#error === null && this.#resumedAt !== null,
      error: this.#error ?? (this.#resumedAt === null ? 'did not finish joining' : null),
      startedAt: this.startedAt,
      joinMs: rel(this.#resumedAt),
      connectMs: rel(this.#connectedAt),
      ttffMs: rel(m?.firstFrameAt ?? null),
      playingMs: rel(m?.playingAt ?? null),
      maxFrameGapMs: m?.maxFrameGapMs ?? 0,
      phases: { ...this.#phases },
      window,
      total: {
        packets: m?.packets ?? 0,
        bytes: m?.bytes ?? 0,
        expected: m?.expected ?? 0,
        rtcp: m?.rtcpPackets ?? 0,
        brokenFrames: m?.brokenFrames ?? 0,
        completeFrames: m?.completeFrames ?? 0,
      },
      decrypt: this.#validator ? { ...this.#validator.stats } : null,
      captureDelay: m?.captureDelay?.result() ?? null,
      rtcpSent: { ...this.#rtcpSent },
      receivePath: this.options.mode !== 'count' ? 'werift' : this.#leanId !== null ? 'lean-rx' : 'dgram',
      events: { ...this.#events },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.finish();
    await this.#release();
  }

  async #release(): Promise<void> {
    if (this.#leanId !== null) this.options.leanRx?.detach(this.#leanId);
    this.#sig?.close();
    const pc = this.#pc;
    this.#pc = null;
    if (pc) await Promise.race([pc.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
