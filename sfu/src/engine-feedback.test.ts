import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createWorker, type types as ms } from 'mediasoup';
import { afterAll, beforeAll, expect, it } from 'vitest';

// sfu/engine/mediasoup-3.27.1-tcc-ssrc.patch, guarded: 3.27.1 as released puts media
// SSRC 0 into the first transport-cc feedback of a transport; libwebrtc ignores it, so
// Chrome's first bandwidth probe is never acknowledged and a streamer's top simulcast
// layer comes 15-30 s late. The real-browser gate cannot see it (our VP8 start bitrate
// hides most of it), so this drives the worker's feedback directly: RTP with
// transport-wide sequence numbers into a plain transport, and the feedback it sends back.

const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const EXTENSION_ID = 5;
const OPUS_PT = 100;
const SSRC = 0x1234abcd;
const FEEDBACK_DEADLINE_MS = 10_000;

let worker: ms.Worker;
let socket: Socket;

beforeAll(async () => {
  worker = await createWorker({ logLevel: 'warn' });
  socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
});

afterAll(() => {
  socket?.close();
  worker?.close();
});

/** RTP with a one-byte header extension carrying the transport-wide sequence number. */
function rtpWithTransportSeq(seq: number): Buffer {
  const packet = Buffer.alloc(12 + 8 + 20);
  packet[0] = 0x90; // version 2, extension bit
  packet[1] = OPUS_PT;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(seq * 960, 4);
  packet.writeUInt32BE(SSRC, 8);
  packet.writeUInt16BE(0xbede, 12);
  packet.writeUInt16BE(1, 14); // one 32-bit word of extensions
  packet[16] = (EXTENSION_ID << 4) | 1; // two bytes of data
  packet.writeUInt16BE(seq, 17);
  return packet;
}

/** The (sender, media) SSRCs of each transport-cc feedback (RTPFB, FMT 15) in a datagram. */
function transportCcFeedbacks(datagram: Buffer): { sender: number; media: number }[] {
  const found: { sender: number; media: number }[] = [];
  for (let offset = 0; offset + 12 <= datagram.length; offset += 4 * (datagram.readUInt16BE(offset + 2) + 1)) {
    if (datagram[offset + 1] === 205 && (datagram[offset]! & 0x1f) === 15) {
      found.push({ sender: datagram.readUInt32BE(offset + 4), media: datagram.readUInt32BE(offset + 8) });
    }
  }
  return found;
}

it("the worker's first transport-cc feedback names the SSRC of the media it acknowledges", async () => {
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: OPUS_PT }],
  });
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2, rtcpFeedback: [{ type: 'transport-cc' }] }],
      headerExtensions: [{ uri: TRANSPORT_CC_URI, id: EXTENSION_ID }],
      encodings: [{ ssrc: SSRC }],
    },
  });
  const feedbacks: { sender: number; media: number }[] = [];
  socket.on('message', (datagram) => feedbacks.push(...transportCcFeedbacks(datagram)));

  let seq = 1;
  const send = () => socket.send(rtpWithTransportSeq(seq++ & 0xffff), transport.tuple.localPort, '127.0.0.1');
  // A live microphone's pace, until the worker has sent its (periodic, every 100 ms) feedback.
  const sending = setInterval(send, 20);
  try {
    send();
    await expect.poll(() => feedbacks.length, { timeout: FEEDBACK_DEADLINE_MS, interval: 50 }).toBeGreaterThan(0);
  } finally {
    clearInterval(sending);
    router.close();
  }
  expect(feedbacks[0]).toEqual({ sender: 0, media: SSRC });
});
