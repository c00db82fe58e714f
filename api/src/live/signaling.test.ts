import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, closeSeenByServer, registerUser, startTestServer, type TestServer } from '../testing/server.ts';

let srv: TestServer;
let streamA: number;
let streamB: number;
let streamerA: TestWsClient;
let streamerB: TestWsClient;
let bystander: TestWsClient;

const VP8_RTP = {
  mid: '0',
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc: 11111111 }],
  rtcp: { cname: 'test', reducedSize: true },
};
const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };

async function transport(c: TestWsClient, direction: 'send' | 'recv'): Promise<string> {
  const offer = await c.request({ type: 'create_transport', direction });
  if (offer.type !== 'offer' || offer.kind !== 'transport') throw new Error(JSON.stringify(offer));
  return offer.transport.id;
}

function expectError(reply: unknown, code: string): void {
  expect(reply).toMatchObject({ type: 'error', error: { code } });
}

beforeAll(async () => {
  srv = await startTestServer();
  const a = await registerUser(srv.url, 'stream_a');
  const b = await registerUser(srv.url, 'stream_b');
  streamA = (await api(srv.url, 'POST', '/api/live/create/', { token: a.token, body: { title: 'A' } })).body.stream.id;
  streamB = (await api(srv.url, 'POST', '/api/live/create/', { token: b.token, body: { title: 'B' } })).body.stream.id;
  streamerA = await TestWsClient.connect(srv.wsUrl(streamA), { token: a.token });
  streamerB = await TestWsClient.connect(srv.wsUrl(streamB), { token: b.token });
  bystander = await TestWsClient.connect(srv.wsUrl(streamA));
  await streamerA.waitFor('connection_established');
});
afterAll(() => srv.close());

describe('signaling over the stream WebSocket', () => {
  it('greets with role, router RTP capabilities and no ICE servers', async () => {
    const hello = await streamerA.waitFor('connection_established');
    expect(hello.role).toBe('streamer');
    expect((hello.routerRtpCapabilities as { codecs: unknown[] }).codecs.length).toBeGreaterThan(0);
    expect(hello.iceServers).toEqual([]);
    expect((await bystander.waitFor('connection_established')).role).toBe('anonymous');
  });

  it('offers a transport, accepts its DTLS answer once, and restarts ICE', async () => {
    const id = await transport(streamerA, 'send');
    expect(await streamerA.request({ type: 'answer', kind: 'connect', transportId: id, dtlsParameters: DTLS })).toMatchObject({ type: 'ack' });
    const restarted = await streamerA.request({ type: 'restart_ice', transportId: id });
    expect(restarted).toMatchObject({ type: 'ice_candidate', transportId: id });
    // A peer's own candidates are accepted and ignored (the SFU is ICE-lite).
    streamerA.send({ type: 'ice_candidate', transportId: id, candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' });
  });

  it('answers bad input with error codes and keeps serving', async () => {
    const c = bystander;
    c.sendRaw('{"type": "comment", ');
    expect((await c.waitNext('error')).error.code).toBe('invalid_json');
    c.send({ type: 'teleport', requestId: 'x1' });
    expect(await c.waitNext('error')).toMatchObject({ requestId: 'x1', error: { code: 'unknown_type' } });
    c.send({ type: 'consume', requestId: 'x2', transportId: 5 } as Record<string, unknown>);
    expect(await c.waitNext('error')).toMatchObject({ requestId: 'x2', error: { code: 'validation_failed' } });
    c.sendRaw(Buffer.from([1, 2, 3]), true);
    expect((await c.waitNext('error')).error.code).toBe('validation_failed');
    c.sendRaw('[1,2]');
    expect((await c.waitNext('error')).error.code).toBe('validation_failed');
    c.sendRaw('{"type":"comment","requestId":"p","content":"hi","__proto__":{"polluted":true}}');
    expect((await c.waitNext('error')).error.code).toBe('unauthorized');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    expectError(await c.request({ type: 'create_transport', direction: 'send' }), 'forbidden');
    const recv = await transport(c, 'recv');
    expectError(await c.request({ type: 'answer', kind: 'produce', transportId: recv, mediaKind: 'video', source: 'camera', rtpParameters: VP8_RTP }), 'forbidden');
    expectError(await c.request({ type: 'answer', kind: 'connect', transportId: recv, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'md5-bogus', value: 'zz' }] } }), 'invalid_parameters');
    expectError(await c.request({ type: 'answer', kind: 'connect', transportId: 'not-mine', dtlsParameters: DTLS }), 'transport_not_found');
    expectError(await c.request({ type: 'end_stream' }), 'forbidden');
    expectError(await c.request({ type: 'resume_consumer', consumerId: 'nope' }), 'consumer_not_found');

    // The streamer's own bad RTP parameters.
    const send = await transport(streamerA, 'send');
    expectError(
      await streamerA.request({ type: 'answer', kind: 'produce', transportId: send, mediaKind: 'video', source: 'camera', rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 300, clockRate: 1 }] } }),
      'invalid_parameters',
    );
    expectError(await streamerA.request({ type: 'answer', kind: 'produce', transportId: send, mediaKind: 'audio', source: 'camera', rtpParameters: VP8_RTP }), 'invalid_parameters');

    // A consume for another stream's producer.
    const sendB = await transport(streamerB, 'send');
    const producedB = await streamerB.request({ type: 'answer', kind: 'produce', transportId: sendB, mediaKind: 'video', source: 'camera', rtpParameters: VP8_RTP });
    expect(producedB.type).toBe('produced');
    const caps = (await c.waitFor('connection_established')).routerRtpCapabilities;
    const foreign = (producedB as { producerId: string }).producerId;
    expectError(await c.request({ type: 'consume', transportId: recv, producerId: foreign, rtpCapabilities: caps as never }), 'producer_not_found');

    // Still serving: the same socket and the streamer work normally.
    expect((await c.request({ type: 'create_transport', direction: 'recv' })).type).toBe('offer');
    expect((await streamerA.request({ type: 'create_transport', direction: 'recv' })).type).toBe('offer');
  });

  it('closes a frame over the size limit with 1009 and the stream keeps serving others', async () => {
    const c = await TestWsClient.connect(srv.wsUrl(streamA));
    c.sendRaw(JSON.stringify({ type: 'comment', requestId: 'big', content: 'x'.repeat(20_000) }));
    expect(await c.closedPromise).toBe(1009);
    expect((await streamerA.request({ type: 'create_transport', direction: 'recv' })).type).toBe('offer');
  });

  it('refuses a cross-origin upgrade and a stream that does not exist', async () => {
    await expect(TestWsClient.connect(srv.wsUrl(streamA), { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const missing = await TestWsClient.connect(srv.wsUrl(999_999));
    expect((await missing.waitFor('error')).error.code).toBe('stream_ended');
    expect(await missing.closedPromise).toBe(4004);
    const same = await TestWsClient.connect(srv.wsUrl(streamA), { origin: srv.url });
    expect((await same.waitFor('connection_established')).role).toBe('anonymous');
    await same.close();
  });

  it('treats a forged bearer token as anonymous', async () => {
    const forged = await TestWsClient.connect(srv.wsUrl(streamA), { token: 'A'.repeat(43) });
    expect((await forged.waitFor('connection_established')).role).toBe('anonymous');
    expectError(await forged.request({ type: 'comment', content: 'hi' }), 'unauthorized');
    expectError(await forged.request({ type: 'ban_user', userId: 1 }), 'forbidden');
    await forged.close();
  });

  it('leaks no transports, producers or consumers when peers leave', async () => {
    const room = srv.app.rooms.get(streamA)!;
    const extra = await TestWsClient.connect(srv.wsUrl(streamA));
    await extra.waitFor('connection_established');
    await transport(extra, 'recv');
    expect(room.media.counts().transports).toBeGreaterThan(0);
    for (const peer of [extra, bystander, streamerA]) await closeSeenByServer(srv, peer);
    expect(room.media.counts()).toMatchObject({ transports: 0, producers: 0, consumers: 0 });
  });
});

describe('end of a stream', () => {
  it('lets only the streamer end it; everyone gets stream_ended; a second end is refused cleanly', async () => {
    const viewer = await TestWsClient.connect(srv.wsUrl(streamB));
    await viewer.waitFor('connection_established');
    expect(await streamerB.request({ type: 'end_stream' })).toMatchObject({ type: 'ack' });
    const ended = await viewer.waitFor('stream_ended');
    expect(ended.reason).toBe('streamer_ended');
    expect(await viewer.closedPromise).toBe(4004);
    const again = await TestWsClient.connect(srv.wsUrl(streamB));
    expect((await again.waitFor('error')).error.code).toBe('stream_ended');
    expect((await api(srv.url, 'GET', `/api/live/${streamB}`)).body.stream.status).toBe('ended');
    void WebSocket;
  });
});
