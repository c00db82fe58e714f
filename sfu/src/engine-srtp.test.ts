import { createWorker, type types as ms } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The worker's SRTP, per crypto suite, through the worker this checkout runs.
// Our Debian build of mediasoup 3.27 calls libsrtp 3's out-of-place
// protect/unprotect, which sfu/engine's shim maps onto Debian's libsrtp2
// (copy into mediasoup's 64 KiB buffer, then libsrtp2's in-place call): a
// wrong capacity or trailer length there corrupts or drops packets of one
// suite only. Browsers pick AES-256-GCM, so the others are only exercised
// here. RTP goes DirectTransport → PlainTransport A ⇄ PlainTransport B (SRTP)
// → DirectTransport and must arrive byte for byte; SRTCP must work both ways
// too: A's consumer only gets a round-trip time once B's receiver reports,
// answering A's sender reports, decrypted.

const SUITES: ms.SrtpCryptoSuite[] = ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];
const OPUS_PT = 100;
const SSRC = 1111;
/** Small, typical and MTU-sized audio payloads (the worker does not look inside Opus). */
const PAYLOAD_SIZES = [1, 160, 1100];
const RTP_DEADLINE_MS = 10_000;
const RTCP_DEADLINE_MS = 20_000;

let worker: ms.Worker;
let router: ms.Router;

beforeAll(async () => {
  worker = await createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT }] });
});

afterAll(() => worker?.close());

function rtpPacket(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = OPUS_PT;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE((seq * 960) >>> 0, 4);
  header.writeUInt32BE(SSRC, 8);
  return Buffer.concat([header, payload]);
}

/** The payload of an RTP packet (after CSRCs, header extensions; before padding). */
function rtpPayload(packet: Buffer): Buffer {
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  const end = packet[0]! & 0x20 ? packet.length - packet[packet.length - 1]! : packet.length;
  return packet.subarray(offset, end);
}

function payloadFor(suite: string, index: number, size: number): Buffer {
  return Buffer.alloc(size, `${suite}:${index}:`);
}

async function srtpLink(suite: ms.SrtpCryptoSuite) {
  const listenInfo: ms.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };
  const source = await router.createDirectTransport();
  const producer = await source.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: SSRC }] },
  });
  const a = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false, enableSrtp: true, srtpCryptoSuite: suite });
  const b = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false, enableSrtp: true, srtpCryptoSuite: suite });
  await a.connect({ ip: '127.0.0.1', port: b.tuple.localPort, srtpParameters: b.srtpParameters! });
  await b.connect({ ip: '127.0.0.1', port: a.tuple.localPort, srtpParameters: a.srtpParameters! });
  const sent = await a.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  const relayed = await b.produce({ kind: 'audio', rtpParameters: sent.rtpParameters });
  const sink = await router.createDirectTransport();
  const received = await sink.consume({ producerId: relayed.id, rtpCapabilities: router.rtpCapabilities });
  return { source, producer, a, b, sent, sink, received, close: () => [source, a, b, sink].forEach((t) => t.close()) };
}

describe('the worker encrypts and decrypts SRTP and SRTCP with every crypto suite', () => {
  it.each(SUITES)('%s: RTP arrives byte for byte, and receiver reports come back through SRTCP', async (suite) => {
    const link = await srtpLink(suite);
    try {
      expect([link.a.srtpParameters?.cryptoSuite, link.b.srtpParameters?.cryptoSuite]).toEqual([suite, suite]);
      const payloads: Buffer[] = [];
      link.received.on('rtp', (packet) => payloads.push(Buffer.from(rtpPayload(packet))));
      const expected: Buffer[] = [];
      let seq = 0;
      for (let round = 0; round < 10; round++) {
        for (const size of PAYLOAD_SIZES) {
          const payload = payloadFor(suite, seq, size);
          expected.push(payload);
          link.producer.send(rtpPacket(seq++, payload));
        }
      }
      await expect.poll(() => payloads.length, { timeout: RTP_DEADLINE_MS, interval: 50 }).toBe(expected.length);
      expect(payloads.map((p) => p.toString('hex'))).toEqual(expected.map((p) => p.toString('hex')));

      // Sender reports only go out while media flows: keep sending, as a live microphone does.
      const keepSending = setInterval(() => link.producer.send(rtpPacket(seq++, payloadFor(suite, seq, 160))), 20);
      try {
        await expect
          .poll(async () => (await link.sent.getStats()).find((s) => s.type === 'outbound-rtp')?.roundTripTime ?? 0, {
            timeout: RTCP_DEADLINE_MS,
            interval: 250,
          })
          .toBeGreaterThan(0);
      } finally {
        clearInterval(keepSending);
      }
    } finally {
      link.close();
    }
  });
});
