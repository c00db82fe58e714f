import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionStream } from '@redred/db';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, registerUser, serverSideClosed, startTestServer, type TestServer } from '../testing/server.ts';

// How fast the cut-off comes and how late the others' comments arrive under it are
// figures for `npm run bench` (scripts/bench-slow-consumer.ts); this test holds the behaviour.

let srv: TestServer;
let streamId: number;
let streamerToken: string;

beforeAll(async () => {
  srv = await startTestServer({ wsMessagesPerSecond: 100_000, wsMessageBurst: 100_000 });
  const s = await registerUser(srv.url, 'slow_host');
  streamerToken = s.token;
  streamId = (await api(srv.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'slow' } })).body.stream.id;
  await transitionStream(srv.app.db, streamId, 'live', { now: Date.now() });
});
afterAll(() => srv.close());

describe('slow-consumer protection', () => {
  it('cuts off a socket that stops reading while comments flow, and a reading socket still gets every comment in order', async () => {
    const streamer = await TestWsClient.connect(srv.wsUrl(streamId), { token: streamerToken });
    const reader = await TestWsClient.connect(srv.wsUrl(streamId));
    const stalled = await TestWsClient.connect(srv.wsUrl(streamId));
    await Promise.all([streamer, reader, stalled].map((c) => c.waitFor('chat_history')));
    let cutOff = false;
    const closed = serverSideClosed(srv, stalled).then(() => (cutOff = true));

    // Stop reading: the TCP socket is paused, so everything sent to it piles up.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // ~2 KB comments (emoji are 4 bytes each), four in flight, until the server cuts the
    // stalled socket off; the cap only turns a server that never does into a failure.
    const body = '🎉'.repeat(480);
    const acked: number[] = [];
    let sent = 0;
    const lane = async () => {
      while (!cutOff && sent < 20_000) {
        const reply = await streamer.request({ type: 'comment', content: `${sent++} ${body}` });
        if (reply.type !== 'comment_ack') throw new Error(`comment refused: ${JSON.stringify(reply)}`);
        acked.push(reply.commentId);
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    expect(cutOff, 'the stalled socket was never cut off').toBe(true);
    await closed;

    const last = Math.max(...acked);
    await reader.waitFor('comment', (m) => m.comment.id === last);
    expect(reader.of('comment').map((m) => m.comment.id)).toEqual([...acked].sort((a, b) => a - b));
    expect(reader.closeCode).toBeNull();
  });
});
