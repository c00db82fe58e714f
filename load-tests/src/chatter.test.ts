import { describe, expect, it } from 'vitest';
import { mergeChatResults, type ChatGroupResult } from './chatter.ts';
import { BitSet, LatencyHistogram } from './stats.ts';

describe('chat accounting', () => {
  it('expects every acked message at every receiver that stayed, across processes', () => {
    const bits = (xs: number[]) => {
      const b = new BitSet();
      xs.forEach((x) => b.add(x));
      return b.bytes;
    };
    const empty = new LatencyHistogram().toJSON();
    const group = (sent: number, acked: number[], receivers: number[][]): ChatGroupResult => ({
      sockets: receivers.length,
      connectFailed: 0,
      dropped: 0,
      dropReasons: {},
      sent,
      acked: acked.length,
      rejected: {},
      unanswered: sent - acked.length,
      unsendable: 0,
      skipped: 0,
      ackedSeqs: bits(acked),
      ack: empty,
      delivery: empty,
      toServer: empty,
      fromServer: empty,
      receivers: receivers.map(bits),
      duplicates: 0,
      maxSendLagMs: 0,
    });
    // Process 0 sends even seqs, process 1 odd ones; seq 3 was never acked but still arrived once.
    const t = mergeChatResults([group(2, [0, 2], [[0, 1, 2], [0, 1, 2, 3]]), group(2, [1], [[0, 1]])]);
    expect(t.acked).toBe(3);
    expect(t.receivers).toBe(3);
    expect(t.expectedDeliveries).toBe(9);
    expect(t.delivered).toBe(8);
    expect(t.lost).toBe(1);
    expect(t.deliveredUnacked).toBe(1);
  });
});
