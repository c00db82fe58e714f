import type { TestWsClient } from './ws-client.ts';

// A streamer that goes live without a browser: mediasoup creates a producer from
// RTP parameters alone (no DTLS, no packets needed), and the stream turns live
// the moment its video producer exists, exactly as with a real camera.

const VP8_CAMERA = {
  mid: '0',
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc: 22222222 }],
  rtcp: { cname: 'publish-testkit', reducedSize: true },
};

/**
 * Creates a send transport and a camera producer on the streamer's socket; returns the producer id.
 * A waiting stream turns live (`stream_live`); a live one resumed after a restart just has media again.
 */
export async function publishCamera(streamer: TestWsClient): Promise<string> {
  const offer = await streamer.request({ type: 'create_transport', direction: 'send' });
  if (offer.type !== 'offer' || offer.kind !== 'transport') throw new Error(`create_transport: ${JSON.stringify(offer)}`);
  const produced = await streamer.request({ type: 'answer', kind: 'produce', transportId: offer.transport.id, mediaKind: 'video', source: 'camera', rtpParameters: VP8_CAMERA });
  if (produced.type !== 'produced') throw new Error(`produce: ${JSON.stringify(produced)}`);
  return produced.producerId;
}

/** Publishes a camera on a waiting stream and resolves once it is live. */
export async function goLive(streamer: TestWsClient): Promise<number> {
  await publishCamera(streamer);
  return (await streamer.waitFor('stream_live')).startedAt;
}
