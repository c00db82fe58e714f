import { describe, expect, it } from 'vitest';
import { GenericNack, RtcpPacketConverter, RtcpRrPacket, RtcpReceiverInfo, RtcpTransportLayerFeedback, RtcpPayloadSpecificFeedback, PictureLossIndication, RtpHeader, RtpPacket } from 'werift';
import { countRtcp, noRtcp, rtcpDiff } from './rtcp-sent.ts';

describe('outgoing RTCP by type', () => {
  it('tells receiver reports, NACKs and PLIs apart, and ignores RTP, STUN and DTLS', () => {
    const c = noRtcp();
    const rr = new RtcpRrPacket({ ssrc: 1, reports: [new RtcpReceiverInfo({ ssrc: 2, fractionLost: 0, packetsLost: 0, highestSequence: 9, jitter: 0, lsr: 0, dlsr: 0 })] }).serialize();
    const nack = new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: [5, 7] }) }).serialize();
    const pli = new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 2 }) }).serialize();
    const rtp = new RtpPacket(new RtpHeader({ payloadType: 101, sequenceNumber: 1, ssrc: 2 }), Buffer.alloc(10)).serialize();
    for (const d of [rr, rr, nack, pli, rtp, Buffer.from([0x00, 0x01, 0, 0]), Buffer.from([22, 0xfe, 0xfd])]) countRtcp(c, d);
    expect(RtcpPacketConverter.deSerialize(nack).length).toBe(1);
    expect(c).toEqual({ rr: 2, nack: 1, twcc: 0, remb: 0, pli: 1, other: 0 });
    expect(rtcpDiff({ ...c, rr: 1 }, c).rr).toBe(1);
  });

  it('tells transport-cc feedback and REMB by their format', () => {
    const c = noRtcp();
    const header = (fmt: number, pt: number) => Buffer.from([0x80 | fmt, pt, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2]);
    countRtcp(c, header(15, 205));
    countRtcp(c, header(15, 206));
    expect(c).toMatchObject({ twcc: 1, remb: 1 });
  });
});
