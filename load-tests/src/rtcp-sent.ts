// What a viewer sends back to the SFU, by RTCP type, read off the wire. SRTCP
// leaves the first packet's header of a compound in the clear (RFC 3711 §3.4),
// and werift sends each report or feedback message as its own compound.
import { percentile } from './stats.ts';

export interface RtcpCounts {
  /** Receiver reports (PT 201). */
  rr: number;
  /** Generic NACK (RTPFB, FMT 1). */
  nack: number;
  /** Transport-wide congestion control feedback (RTPFB, FMT 15). */
  twcc: number;
  /** Receiver estimated maximum bitrate (PSFB, FMT 15). */
  remb: number;
  /** Picture loss indication (PSFB, FMT 1). */
  pli: number;
  other: number;
}

export const noRtcp = (): RtcpCounts => ({ rr: 0, nack: 0, twcc: 0, remb: 0, pli: 0, other: 0 });

/** Counts one outgoing datagram if it is RTCP (first byte 128–191, payload type 192–223). */
export function countRtcp(counts: RtcpCounts, data: Uint8Array): void {
  const b0 = data[0]!;
  const pt = data[1]!;
  if (b0 < 128 || b0 > 191 || pt < 192 || pt > 223) return;
  const fmt = b0 & 0x1f;
  if (pt === 201) counts.rr++;
  else if (pt === 205 && fmt === 1) counts.nack++;
  else if (pt === 205 && fmt === 15) counts.twcc++;
  else if (pt === 206 && fmt === 15) counts.remb++;
  else if (pt === 206 && fmt === 1) counts.pli++;
  else counts.other++;
}

export function rtcpDiff(a: RtcpCounts, b: RtcpCounts): RtcpCounts {
  return { rr: b.rr - a.rr, nack: b.nack - a.nack, twcc: b.twcc - a.twcc, remb: b.remb - a.remb, pli: b.pli - a.pli, other: b.other - a.other };
}

export function rtcpSum(all: readonly RtcpCounts[]): RtcpCounts {
  const s = noRtcp();
  for (const c of all) {
    s.rr += c.rr;
    s.nack += c.nack;
    s.twcc += c.twcc;
    s.remb += c.remb;
    s.pli += c.pli;
    s.other += c.other;
  }
  return s;
}

export interface FeedbackSummary {
  /** Crowd viewers that sent RTCP like browsers (--rtcp-share), and their share of the crowd in %. */
  viewers: number;
  sharePct: number;
  /** Sent per such viewer per second over the window; null without a window. */
  perViewerPerS: RtcpCounts | null;
  /** Their received kbps, median: with transport-cc the SFU estimates their bandwidth and may send them less than the pinned layer. */
  kbpsP50: number | null;
  /** How the crowd's media reached the meters: werift (decrypting and RTCP viewers), the batch receiver, Node's dgram. */
  receivePaths: Record<string, number>;
}

/** Over the crowd viewers that joined and have a window. */
export function summarizeFeedback(crowd: readonly { mode: string; receivePath: string; window: { seconds: number; kbps: number; rtcpSent: RtcpCounts } | null }[]): FeedbackSummary {
  const senders = crowd.filter((r) => r.mode === 'rtcp' && r.window);
  const seconds = senders.reduce((a, r) => a + r.window!.seconds, 0);
  const sent = rtcpSum(senders.map((r) => r.window!.rtcpSent));
  const per = (x: number) => x / seconds;
  const receivePaths: Record<string, number> = {};
  for (const r of crowd) receivePaths[r.receivePath] = (receivePaths[r.receivePath] ?? 0) + 1;
  return {
    viewers: senders.length,
    sharePct: crowd.length ? (senders.length / crowd.length) * 100 : 0,
    perViewerPerS: seconds > 0 ? { rr: per(sent.rr), nack: per(sent.nack), twcc: per(sent.twcc), remb: per(sent.remb), pli: per(sent.pli), other: per(sent.other) } : null,
    kbpsP50: percentile(senders.map((r) => r.window!.kbps), 50),
    receivePaths,
  };
}
