// Receive-side accounting from RTP headers alone. SRTP encrypts the payload,
// not the header, so counting viewers and decrypting viewers share this code:
// sequence numbers give loss, the marker bit gives frame boundaries, the
// abs-capture-time extension gives capture → arrival latency.
import { CaptureDelayMeter } from './capture-delay.ts';

/** Packet loss bookkeeping for one SSRC (RFC 3550 A.1, without probation). */
export class SeqTracker {
  received = 0;
  bytes = 0;
  #base = -1;
  #maxSeq = 0;
  #cycles = 0;

  /** Returns true when the packet is the next one in order (no gap before it). */
  record(seq: number, bytes: number): 'next' | 'gap' | 'late' {
    this.received++;
    this.bytes += bytes;
    if (this.#base < 0) {
      this.#base = seq;
      this.#maxSeq = seq;
      return 'next';
    }
    const delta = (seq - this.#maxSeq) & 0xffff;
    if (delta === 0 || delta > 0x8000) return 'late';
    if (seq < this.#maxSeq) this.#cycles += 0x10000;
    this.#maxSeq = seq;
    return delta === 1 ? 'next' : 'gap';
  }

  get expected(): number {
    return this.#base < 0 ? 0 : this.#cycles + this.#maxSeq - this.#base + 1;
  }
}

export interface MeterSnapshot {
  at: number;
  packets: number;
  bytes: number;
  expected: number;
  videoFrames: number;
}

/**
 * One viewer's media as it arrives: packets, bytes and loss per kind, complete
 * video frames (every packet from the one after the previous marker through
 * this marker, no gap) and when the first ones arrived.
 */
export class RtpMeter {
  readonly video = new SeqTracker();
  readonly audio = new SeqTracker();
  rtcpPackets = 0;
  unknownPackets = 0;
  completeFrames = 0;
  brokenFrames = 0;
  firstPacketAt: number | null = null;
  firstFrameAt: number | null = null;
  /** The fifth complete frame: video is flowing, not one frame then a stall. */
  playingAt: number | null = null;
  /** Longest wait between two complete frames once the first arrived. */
  maxFrameGapMs = 0;
  #lastFrameAt: number | null = null;
  #frameBroken = false;
  /** Null when the video consumer did not negotiate abs-capture-time. */
  readonly captureDelay: CaptureDelayMeter | null;
  readonly #videoPt: number;
  readonly #audioPt: number;

  constructor(payloadTypes: { video: number; audio: number }, extensionIds: { absCaptureTime: number | null; absSendTime: number | null } = { absCaptureTime: null, absSendTime: null }) {
    this.#videoPt = payloadTypes.video;
    this.#audioPt = payloadTypes.audio;
    this.captureDelay = extensionIds.absCaptureTime === null ? null : new CaptureDelayMeter(extensionIds.absCaptureTime, extensionIds.absSendTime);
  }

  /**
   * Any packet from the wire that is RTP or RTCP (first byte 128–191), encrypted
   * or not; the one entry point of every receive path. `data` may be only the
   * packet's first bytes (the batch receiver passes header and extensions), then
   * `wireBytes` is its full size.
   */
  onPacket(data: Uint8Array, at: number, wireBytes: number = data.length): void {
    const b1 = data[1]!;
    if (b1 >= 192 && b1 <= 223) {
      this.rtcpPackets++;
      return;
    }
    const pt = b1 & 0x7f;
    const seq = (data[2]! << 8) | data[3]!;
    if (this.firstPacketAt === null) this.firstPacketAt = at;
    if (pt === this.#videoPt) {
      this.onVideo(seq, (b1 & 0x80) !== 0, wireBytes, at);
      this.onVideoClock(data, at);
    } else if (pt === this.#audioPt) this.audio.record(seq, wireBytes);
    else this.unknownPackets++;
  }

  onVideo(seq: number, marker: boolean, bytes: number, at: number): void {
    const order = this.video.record(seq, bytes);
    if (order === 'late') return;
    if (order === 'gap') this.#frameBroken = true;
    if (!marker) return;
    if (this.#frameBroken) {
      this.brokenFrames++;
      this.#frameBroken = false;
      return;
    }
    this.completeFrames++;
    if (this.#lastFrameAt !== null) this.maxFrameGapMs = Math.max(this.maxFrameGapMs, at - this.#lastFrameAt);
    this.#lastFrameAt = at;
    if (this.completeFrames === 1) this.firstFrameAt = at;
    if (this.completeFrames === 5) this.playingAt = at;
  }

  /**
   * The capture-delay hook: every video RTP packet, whole (header in the clear),
   * with its arrival time. Costs one RTP timestamp comparison except on a
   * frame's first packet.
   */
  onVideoClock(data: Uint8Array, at: number): void {
    this.captureDelay?.onPacket(data, at);
  }

  get packets(): number {
    return this.video.received + this.audio.received;
  }

  get bytes(): number {
    return this.video.bytes + this.audio.bytes;
  }

  get expected(): number {
    return this.video.expected + this.audio.expected;
  }

  snapshot(at: number): MeterSnapshot {
    return { at, packets: this.packets, bytes: this.bytes, expected: this.expected, videoFrames: this.completeFrames };
  }
}

/** Loss over a window, in [0, 1]; duplicates never make it negative. */
export function lossBetween(a: MeterSnapshot, b: MeterSnapshot): number {
  const expected = b.expected - a.expected;
  if (expected <= 0) return 0;
  return Math.max(0, expected - (b.packets - a.packets)) / expected;
}
