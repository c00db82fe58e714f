import type { OfferedRid } from './offer.ts';

// mediasoup takes a producer's encodings lowest quality first (spatial layer
// 0 = smallest), and both its bandwidth-driven layer choice and our viewers'
// low/medium/high pins rely on that order. A WHIP offer does not say which rid
// is which: browsers list sendEncodings in the order the page gave them
// (usually low → high), OBS names its layers "0" (full size) to "3" (quarter)
// and lists them highest first, and other clients choose freely. So the order
// is first guessed from the SDP, then checked against what each RTP stream
// really carries (`orderLayersByBitrate`), and the producer is remade in the
// right order if the guess was wrong.

/** Conventional names, lowest quality first. */
const NAMED_ORDERS: readonly (readonly string[])[] = [
  ['q', 'h', 'f'],
  ['l', 'm', 'h'],
  ['lo', 'mid', 'hi'],
  ['low', 'mid', 'high'],
  ['low', 'medium', 'high'],
];

function sizeOf(rid: OfferedRid): number | undefined {
  const { restrictions: r } = rid;
  const width = Number(r['max-width']);
  const height = Number(r['max-height']);
  if (width > 0 && height > 0) return width * height;
  const fs = Number(r['max-fs']);
  if (fs > 0) return fs * 256; // max-fs counts 16×16 macroblocks
  const br = Number(r['max-br'] ?? r['max-bps']);
  if (br > 0) return br;
  return undefined;
}

/** The rids, lowest quality first, as far as the SDP tells. */
export function orderLayersBySdp(rids: readonly OfferedRid[]): string[] {
  const ids = rids.map((r) => r.id);
  // RFC 8851 restrictions, when every layer has them, are the real sizes.
  const sizes = rids.map(sizeOf);
  if (sizes.every((s) => s !== undefined)) {
    return rids
      .map((r, i) => ({ id: r.id, size: sizes[i]!, i }))
      .sort((a, b) => a.size - b.size || a.i - b.i)
      .map((r) => r.id);
  }
  const lower = ids.map((id) => id.toLowerCase());
  for (const names of NAMED_ORDERS) {
    if (lower.every((id) => names.includes(id))) return [...ids].sort((a, b) => names.indexOf(a.toLowerCase()) - names.indexOf(b.toLowerCase()));
  }
  // OBS: "0" is the full-size layer and each next number is smaller.
  if (ids.every((id) => /^\d+$/.test(id))) return [...ids].sort((a, b) => Number(b) - Number(a));
  return ids;
}

/** A layer must carry this much more than the one below it for the measurement to overrule the SDP. */
export const LAYER_BITRATE_MARGIN = 1.15;

/**
 * The rids ordered by the bitrate each really carries, lowest first, or
 * undefined when the measurement cannot decide (a layer missing or silent, or
 * two layers within `LAYER_BITRATE_MARGIN` of each other).
 */
export function orderLayersByBitrate(current: readonly string[], bitrates: ReadonlyMap<string, number>): string[] | undefined {
  if (current.some((rid) => !((bitrates.get(rid) ?? 0) > 0))) return undefined;
  const measured = [...current].sort((a, b) => bitrates.get(a)! - bitrates.get(b)!);
  for (let i = 1; i < measured.length; i++) {
    if (bitrates.get(measured[i]!)! < bitrates.get(measured[i - 1]!)! * LAYER_BITRATE_MARGIN) return undefined;
  }
  return measured;
}
