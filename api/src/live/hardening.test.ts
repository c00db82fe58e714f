import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionStream } from '@redred/db';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';

let srv: TestServer;
let streamId: number;
let streamerToken: string;

beforeAll(async () => {
  srv = await startTestServer({ wsMessagesPerSecond: 1000, wsMessageBurst: 1000 });
  const s = await registerUser(srv.url, 'slow_host');
  streamerToken = s.token;
  streamId = (await api(srv.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'slow' } })).body.stream.id;
  await transitionStream(srv.app.db, streamId, 'live', { now: Date.now() });
});
afterAll(() => srv.close());

describe('slow-consumer protection', () => {
  it('closes a socket that stops reading while 200 comments/s flow, within 5 s, and others stay on time', async () => {
    const streamer = await TestWsClient.connect(srv.wsUrl(streamId), { token: streamerToken });
    const reader = await TestWsClient.connect(srv.wsUrl(streamId));
    const stalled = await TestWsClient.connect(srv.wsUrl(streamId));
    await stalled.waitFor('connection_established');
    await reader.waitFor('connection_established');
    const room = srv.app.rooms.get(streamId)!;
    const before = room.connectionCount;

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    reader.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'comment') latencies.push(Date.now() - sentAt.get(m.comment.content.slice(0, 8))!);
    });
    let acks = 0;
    streamer.ws.on('message', (d) => {
      if (JSON.parse(d.toString()).type === 'comment_ack') acks++;
    });

    // Stop reading: the TCP socket is paused, so everything sent to it piles up.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const stalledAt = Date.now();
    let closedAt = 0;
    // 200 comments/s, pipelined, each ~2 KB (emoji are 4 bytes each), for up to 6 s.
    const body = '🎉'.repeat(480);
    for (let i = 0; i < 1200 && !(closedAt && i > 400); i++) {
      const tag = String(i).padStart(8, '0');
      sentAt.set(tag, Date.now());
      streamer.send({ type: 'comment', requestId: `c${i}`, content: `${tag} ${body}` });
      if (!closedAt && room.connectionCount < before) closedAt = Date.now();
      const next = stalledAt + (i + 1) * 5;
      if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(closedAt, 'the stalled socket was never closed').toBeGreaterThan(0);
    const closeMs = closedAt - stalledAt;
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length * 0.5)]!;
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    console.log(`stalled socket closed after ${closeMs} ms; ${acks} acks; healthy reader got ${latencies.length} comments, p50 ${p50} ms, p99 ${p99} ms`);
    expect(closeMs).toBeLessThan(5000);
    expect(latencies.length).toBe(acks);
    expect(p99).toBeLessThan(2000);
  });
});
