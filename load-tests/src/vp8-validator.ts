import type { RtpPacket } from 'werift';
import { nowMs } from './stats.ts';
import type { ViewerOptions } from './viewer.ts';
import { parseVp8Payload } from './vp8.ts';

export interface DecryptStats {
  videoPackets: number;
  audioPackets: number;
  /** Complete frames whose every packet decrypted and whose VP8 headers parsed. */
  framesValid: number;
  keyframesValid: number;
  /** Packets whose VP8 payload descriptor or keyframe header did not parse. */
  invalidPackets: number;
  width: number;
  height: number;
  /** From join start to the first complete, valid, decrypted keyframe. */
  firstKeyframeMs: number | null;
}

/** Checks decrypted VP8 frame by frame. */
export class Vp8Validator {
  readonly stats: DecryptStats = { videoPackets: 0, audioPackets: 0, framesValid: 0, keyframesValid: 0, invalidPackets: 0, width: 0, height: 0, firstKeyframeMs: null };
  #frame: { keyframe: boolean; width: number; height: number; ok: boolean; nextSeq: number } | null = null;

  constructor(
    readonly startedAt: number,
    readonly onFrame: ViewerOptions['onFrame'],
  ) {}

  onVideo(rtp: RtpPacket): void {
    this.stats.videoPackets++;
    const info = parseVp8Payload(rtp.payload);
    const seq = rtp.header.sequenceNumber;
    if (!info.valid) this.stats.invalidPackets++;
    if (info.frameStart) {
      this.#frame = { keyframe: info.keyframe, width: info.width, height: info.height, ok: info.valid, nextSeq: (seq + 1) & 0xffff };
    } else if (this.#frame) {
      if (seq !== this.#frame.nextSeq || !info.valid) this.#frame.ok = false;
      this.#frame.nextSeq = (seq + 1) & 0xffff;
    }
    if (rtp.header.marker && this.#frame) {
      const f = this.#frame;
      this.#frame = null;
      if (!f.ok) return;
      this.stats.framesValid++;
      if (f.keyframe) {
        this.stats.keyframesValid++;
        this.stats.width = f.width;
        this.stats.height = f.height;
        if (this.stats.firstKeyframeMs === null) this.stats.firstKeyframeMs = nowMs() - this.startedAt;
      }
      this.onFrame?.({ keyframe: f.keyframe, width: f.width, height: f.height });
    }
  }
}
