// Capture → viewer latency from the abs-capture-time RTP header extension
// (http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time). Chrome
// stamps its capture clock (NTP, derived from the box's wall clock) on a video
// packet about once a second and whenever the RTP timestamp stops predicting
// it; mediasoup forwards the extension to every consumer that negotiated it.
// RTP headers travel in the clear under SRTP, so counting viewers read it too.
// Every frame's capture time follows from the last stamp and the RTP clock.
// mediasoup also rewrites abs-send-time on each packet it sends (its
// CLOCK_MONOTONIC, ms, mod 64 s): that splits the figure into capture → SFU
// send and SFU send → viewer (loopback plus the generator's own delay).
import { LatencyHistogram, nowMs, type SerializedHistogram } from './stats.ts';

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_POW_32 = 4_294_967_296;
/** A stamp older than this (in RTP time) is not used to place a frame: a layer switch or a pause may lie between. */
const MAX_EXTRAPOLATION_S = 5;
/** abs-send-time: 6.18 fixed-point seconds in 24 bits, so it wraps every 64 s. */
const ABS_SEND_TIME_UNITS_PER_MS = 262_144 / 1000;
const ABS_SEND_TIME_WRAP = 1 << 24;

/** CLOCK_MONOTONIC (what mediasoup's worker stamps) minus `nowMs()`, in this process. */
export function monotonicMinusEpochMs(): number {
  return Number(process.hrtime.bigint()) / 1e6 - nowMs();
}

/** mediasoup's send time (mod 64 s) → arrival, in ms; null when the extension is not there or the result is implausible. */
export function sfuToArrivalMs(p: Uint8Array, absSendTimeId: number, arrivalMonotonicMs: number): number | null {
  const ext = findHeaderExtension(p, absSendTimeId);
  if (!ext || ext.length !== 3) return null;
  const sent = (p[ext.offset]! << 16) | (p[ext.offset + 1]! << 8) | p[ext.offset + 2]!;
  const arrived = Math.round(arrivalMonotonicMs * ABS_SEND_TIME_UNITS_PER_MS) % ABS_SEND_TIME_WRAP;
  const units = (arrived - sent + ABS_SEND_TIME_WRAP) % ABS_SEND_TIME_WRAP;
  // Past half the wrap it is a packet "from the future": not the same clock.
  return units < ABS_SEND_TIME_WRAP / 2 ? units / ABS_SEND_TIME_UNITS_PER_MS : null;
}

/** Where extension `id`'s data is in an RTP packet (RFC 8285 one-byte and two-byte header forms), or null. */
export function findHeaderExtension(p: Uint8Array, id: number): { offset: number; length: number } | null {
  if ((p[0]! & 0x10) === 0) return null;
  const csrcEnd = 12 + (p[0]! & 0x0f) * 4;
  if (csrcEnd + 4 > p.length) return null;
  const profile = (p[csrcEnd]! << 8) | p[csrcEnd + 1]!;
  const start = csrcEnd + 4;
  const end = start + ((p[csrcEnd + 2]! << 8) | p[csrcEnd + 3]!) * 4;
  if (end > p.length) return null;
  if (profile === 0xbede) {
    let i = start;
    while (i < end) {
      const b = p[i]!;
      if (b === 0) {
        i++; // padding
        continue;
      }
      const extId = b >> 4;
      if (extId === 15) return null; // reserved: stop parsing (RFC 8285 4.2)
      const length = (b & 0x0f) + 1;
      if (i + 1 + length > end) return null;
      if (extId === id) return { offset: i + 1, length };
      i += 1 + length;
    }
    return null;
  }
  if ((profile & 0xfff0) === 0x1000) {
    let i = start;
    while (i < end) {
      const extId = p[i]!;
      if (extId === 0) {
        i++;
        continue;
      }
      if (i + 2 > end) return null;
      const length = p[i + 1]!;
      if (i + 2 + length > end) return null;
      if (extId === id) return { offset: i + 2, length };
      i += 2 + length;
    }
  }
  return null;
}

/**
 * The capture time (Unix ms) in an abs-capture-time extension: a UQ32.32 NTP
 * timestamp, plus the optional Q32.32 estimated capture clock offset (the
 * capturer's clock to the sender's; zero or absent when Chrome captured the
 * frame itself). Null when the length is neither 8 nor 16 bytes.
 */
export function absCaptureTimeMs(p: Uint8Array, offset: number, length: number): number | null {
  if (length !== 8 && length !== 16) return null;
  const view = new DataView(p.buffer, p.byteOffset + offset, length);
  let seconds = view.getUint32(0) - NTP_UNIX_OFFSET_S + view.getUint32(4) / TWO_POW_32;
  if (length === 16) seconds += view.getInt32(8) + view.getUint32(12) / TWO_POW_32;
  return seconds * 1000;
}

export interface CaptureDelayResult {
  /** Capture → arrival of each frame's first packet (ms), over the window. */
  histogram: SerializedHistogram;
  /** The same frames split at mediasoup's send time (abs-send-time): capture → SFU send, and SFU send → arrival. */
  toSfuSend: SerializedHistogram;
  sfuToViewer: SerializedHistogram;
  /** Frames in the window that came before any stamp (or too long after the last): not measured. */
  unplaced: number;
  /** Frames measured as arriving before their capture: the clocks disagree (a different box, or a clock step). */
  negative: number;
  /** abs-capture-time stamps seen, whole life. */
  stamps: number;
}

/**
 * One viewer's video stream: the first packet of each frame (a new RTP
 * timestamp) is placed on the publisher's capture clock and its arrival
 * compared. Every other packet costs one timestamp comparison.
 */
export class CaptureDelayMeter {
  readonly #extId: number;
  readonly #sendTimeId: number | null;
  readonly #monotonicMinusEpochMs: number;
  readonly #msPerTick: number;
  readonly #maxTicks: number;
  #frameTs = -1;
  #refTs = 0;
  #refCaptureMs: number | null = null;
  #recording = true;
  #histogram = new LatencyHistogram();
  #toSfuSend = new LatencyHistogram();
  #sfuToViewer = new LatencyHistogram();
  #unplaced = 0;
  #negative = 0;
  #stamps = 0;

  /** `absSendTimeId`: null when the consumer did not negotiate abs-send-time; `clock` is injectable for tests. */
  constructor(extensionId: number, absSendTimeId: number | null = null, clock: { monotonicMinusEpochMs: number } = { monotonicMinusEpochMs: monotonicMinusEpochMs() }, clockRate = 90_000) {
    this.#extId = extensionId;
    this.#sendTimeId = absSendTimeId;
    this.#monotonicMinusEpochMs = clock.monotonicMinusEpochMs;
    this.#msPerTick = 1000 / clockRate;
    this.#maxTicks = MAX_EXTRAPOLATION_S * clockRate;
  }

  /** Every video RTP packet (encrypted or not), with its arrival time (epoch ms, `nowMs()`). */
  onPacket(p: Uint8Array, at: number): void {
    const ts = ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0;
    if (ts === this.#frameTs) return;
    this.#frameStart(p, ts, at);
  }

  #frameStart(p: Uint8Array, ts: number, at: number): void {
    // A late packet of an earlier frame is not a frame start (signed 32-bit RTP time difference).
    if (this.#frameTs >= 0 && ((ts - this.#frameTs) | 0) < 0) return;
    this.#frameTs = ts;
    const ext = findHeaderExtension(p, this.#extId);
    const stamped = ext ? absCaptureTimeMs(p, ext.offset, ext.length) : null;
    if (stamped !== null) {
      this.#refTs = ts;
      this.#refCaptureMs = stamped;
      this.#stamps++;
    }
    if (!this.#recording) return;
    const ticks = (ts - this.#refTs) | 0;
    if (this.#refCaptureMs === null || ticks > this.#maxTicks || ticks < -this.#maxTicks) {
      this.#unplaced++;
      return;
    }
    const delay = at - (this.#refCaptureMs + ticks * this.#msPerTick);
    if (delay < 0) {
      this.#negative++;
      return;
    }
    this.#histogram.record(delay);
    const fromSfu = this.#sendTimeId === null ? null : sfuToArrivalMs(p, this.#sendTimeId, at + this.#monotonicMinusEpochMs);
    // mediasoup stamps whole milliseconds, truncated: a split can be up to 1 ms off either way.
    if (fromSfu !== null && fromSfu <= delay) {
      this.#sfuToViewer.record(fromSfu);
      this.#toSfuSend.record(delay - fromSfu);
    }
  }

  /** Starts the measurement window: what was recorded before is dropped. */
  mark(): void {
    this.#histogram = new LatencyHistogram();
    this.#toSfuSend = new LatencyHistogram();
    this.#sfuToViewer = new LatencyHistogram();
    this.#unplaced = 0;
    this.#negative = 0;
    this.#recording = true;
  }

  /** Ends the window; frames after it are not recorded. */
  finish(): void {
    this.#recording = false;
  }

  result(): CaptureDelayResult {
    return { histogram: this.#histogram.toJSON(), toSfuSend: this.#toSfuSend.toJSON(), sfuToViewer: this.#sfuToViewer.toJSON(), unplaced: this.#unplaced, negative: this.#negative, stamps: this.#stamps };
  }
}

export interface CaptureDelaySummary {
  /** Viewers that reported a measurement (the abs-capture-time extension negotiated). */
  viewers: number;
  /** Frames measured, every viewer's. */
  frames: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Split at mediasoup's send time; null without abs-send-time. */
  toSfuSend: Percentiles | null;
  sfuToViewer: Percentiles | null;
  unplaced: number;
  negative: number;
  /** abs-capture-time stamps the viewers received (Chrome stamps about once a second per layer). */
  stamps: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
}

function percentiles(hists: readonly SerializedHistogram[]): Percentiles | null {
  const all = new LatencyHistogram();
  for (const h of hists) all.merge(h);
  const p50 = all.percentile(50);
  const p99 = all.percentile(99);
  return p50 === null || p99 === null ? null : { p50, p99 };
}

/** All the viewers' frames as one distribution; null when no viewer negotiated the extension. */
export function summarizeCaptureDelay(results: readonly (CaptureDelayResult | null)[]): CaptureDelaySummary | null {
  const present = results.filter((r): r is CaptureDelayResult => r !== null);
  if (present.length === 0) return null;
  const all = new LatencyHistogram();
  for (const r of present) all.merge(r.histogram);
  const s = all.summary();
  return {
    viewers: present.length,
    frames: s.count,
    p50: s.p50,
    p95: s.p95,
    p99: s.p99,
    max: s.max,
    toSfuSend: percentiles(present.map((r) => r.toSfuSend)),
    sfuToViewer: percentiles(present.map((r) => r.sfuToViewer)),
    unplaced: present.reduce((a, r) => a + r.unplaced, 0),
    negative: present.reduce((a, r) => a + r.negative, 0),
    stamps: present.reduce((a, r) => a + r.stamps, 0),
  };
}

/**
 * The server's forwarding delay under load: capture → viewer at N viewers
 * minus the same at 1 viewer. Chrome's capture → send time (encoder, pacer)
 * and the loopback are in both and cancel as long as they did not change (the
 * report prints Chrome's encode and pacer times for each window). `toSfuSend`:
 * the same difference cut at mediasoup's send time, without the generator's
 * own receive delay.
 */
export function forwardingDelay(atOne: CaptureDelaySummary | null, atN: CaptureDelaySummary | null): { p50: number; p99: number; toSfuSend: Percentiles | null } | null {
  if (!atOne || !atN || atOne.p50 === null || atOne.p99 === null || atN.p50 === null || atN.p99 === null) return null;
  const a = atOne.toSfuSend;
  const b = atN.toSfuSend;
  return { p50: atN.p50 - atOne.p50, p99: atN.p99 - atOne.p99, toSfuSend: a && b ? { p50: b.p50 - a.p50, p99: b.p99 - a.p99 } : null };
}
