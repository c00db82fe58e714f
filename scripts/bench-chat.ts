// Chat benchmark (not a test): how many comments the server acknowledges per
// second, and how long a broadcast takes to reach 500 connected sockets.
// The server runs as its own process, as in production; the clients here are
// bare sockets that parse only what they measure, so the client side stays cheap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServerProcess } from '../api/src/testing/process.ts';
import { api, registerUser } from '../api/src/testing/server.ts';
import { median } from './bench-db.ts';

export interface ChatBenchOptions {
  /** Accounts sending at once in the throughput run (moderators: the chat rate limit does not apply). */
  senders?: number;
  /** Comments each sender keeps in flight. */
  window?: number;
  /** Sockets listening in the latency run. */
  receivers?: number;
  /** Comments per second sent during the latency run. */
  latencyRate?: number;
  /** Seconds per measured run. */
  seconds?: number;
  rounds?: number;
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket on a stream, resolved once its history backfill arrived. */
export function open(url: string, token?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    // Joined once the history backfill arrived: from then on every comment is live.
    const onMessage = (data: WebSocket.RawData) => {
      if (data.toString().startsWith('{"type":"chat_history"')) {
        ws.off('message', onMessage);
        resolve(ws);
      }
    };
    ws.on('message', onMessage);
    ws.once('error', reject);
  });
}

function request(ws: WebSocket, message: Record<string, unknown>, requestId: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const text = data.toString();
      if (!text.includes(`"requestId":"${requestId}"`)) return;
      ws.off('message', onMessage);
      resolve(JSON.parse(text) as Record<string, unknown>);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ ...message, requestId }));
  });
}

/** One run of `seconds`: every sender keeps `window` comments in flight; returns acks per second. */
async function measureThroughput(senders: WebSocket[], window: number, seconds: number, round: number): Promise<number> {
  let acked = 0;
  const refusals: string[] = [];
  let counting = false;
  let stop = false;
  const runs = senders.map(
    (ws, si) =>
      new Promise<void>((done) => {
        let next = 0;
        let inFlight = 0;
        const send = () => {
          inFlight++;
          ws.send(`{"type":"comment","requestId":"b${round}-${si}-${next}","content":"bench ${si} ${next++}"}`);
        };
        const onMessage = (data: WebSocket.RawData) => {
          const text = data.toString();
          if (text.startsWith('{"type":"comment",')) return; // the broadcast everyone gets: skipped unparsed
          const ackd = text.startsWith('{"type":"comment_ack"');
          if (!ackd && !text.startsWith('{"type":"error"')) return;
          if (!ackd) refusals.push(text);
          inFlight--;
          if (counting) acked++;
          if (!stop) send();
          else if (inFlight === 0) {
            ws.off('message', onMessage);
            done();
          }
        };
        ws.on('message', onMessage);
        for (let i = 0; i < window; i++) send();
      }),
  );
  await sleep(500); // warm-up, not counted
  counting = true;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(runs);
  if (refusals.length > 0) throw new Error(`${refusals.length} bench comments refused, e.g. ${refusals[0]}`);
  return acked / elapsed;
}

/** One run: `rate` comments/s for `seconds`; returns every (comment, socket) delivery latency in ms, sorted. */
async function measureLatency(sender: WebSocket, receivers: WebSocket[], rate: number, seconds: number, round: number): Promise<number[]> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const total = Math.round(rate * seconds);
  // Global: a `comments` batch frame carries several.
  const marker = new RegExp(`"content":"lat ${round} (\\d+)"`, 'g');
  let delivered = 0;
  const allDelivered = new Promise<void>((resolve) => {
    for (const ws of receivers) {
      ws.on('message', (data) => {
        const at = performance.now();
        for (const m of data.toString().matchAll(marker)) {
          const t = sentAt.get(Number(m[1]));
          if (t !== undefined) latencies.push(at - t);
          if (++delivered === total * receivers.length) resolve();
        }
      });
    }
  });
  for (let i = 0; i < total; i++) {
    sentAt.set(i, performance.now());
    sender.send(`{"type":"comment","requestId":"l${round}-${i}","content":"lat ${round} ${i}"}`);
    await sleep(1000 / rate);
  }
  await Promise.race([allDelivered, sleep(30_000)]);
  for (const ws of receivers) ws.removeAllListeners('message');
  if (delivered < total * receivers.length) throw new Error(`only ${delivered} of ${total * receivers.length} deliveries arrived`);
  return latencies.sort((a, b) => a - b);
}

export async function runChatBench(opts: ChatBenchOptions = {}) {
  const { senders: senderCount = 20, window = 8, receivers: receiverCount = 500, latencyRate = 20, seconds = 3, rounds = 3 } = opts;
  const dataDir = mkdtempSync(join(tmpdir(), 'redred-bench-chat-'));
  // The per-socket anti-flood limit (20 messages/s) is lifted so the chat path, not
  // the limiter, is what gets measured; senders are moderators for the same reason.
  const server = await startServerProcess({ DATA_DIR: dataDir, WS_MESSAGES_PER_SECOND: '1000000', WS_MESSAGE_BURST: '1000000', LOG_LEVEL: 'info' });
  const sockets: WebSocket[] = [];
  try {
    const wsUrl = (id: number) => `${server.url.replace('http', 'ws')}/ws/live/${id}`;
    const streamer = await registerUser(server.url, 'benchstreamer');
    const created = await api(server.url, 'POST', '/api/live/create/', { token: streamer.token, body: { title: 'chat bench' } });
    if (created.status !== 201) throw new Error(`create stream: ${created.status}`);
    const streamId: number = created.body.stream.id;
    const streamerWs = await open(wsUrl(streamId), streamer.token);
    sockets.push(streamerWs);

    const senders: WebSocket[] = [];
    for (let i = 0; i < senderCount; i++) {
      const u = await registerUser(server.url, `benchsender${i}`);
      const reply = await request(streamerWs, { type: 'add_moderator', userId: u.id }, `mod${i}`);
      if (reply.type !== 'ack') throw new Error(`appoint: ${JSON.stringify(reply)}`);
      senders.push(await open(wsUrl(streamId), u.token));
    }
    sockets.push(...senders);
    const throughput: number[] = [];
    for (let r = 0; r < rounds; r++) throughput.push(await measureThroughput(senders, window, seconds, r));
    for (const ws of senders) ws.close();

    const receivers: WebSocket[] = [];
    for (let i = 0; i < receiverCount; i += 50) {
      receivers.push(...(await Promise.all(Array.from({ length: Math.min(50, receiverCount - i) }, () => open(wsUrl(streamId))))));
    }
    sockets.push(...receivers);
    const p50: number[] = [];
    const p99: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const lat = await measureLatency(streamerWs, receivers, latencyRate, seconds, r);
      p50.push(percentile(lat, 50));
      p99.push(percentile(lat, 99));
    }
    return {
      [`comments acked/s, ${senderCount} senders x ${window} in flight (median)`]: Math.round(median(throughput)),
      [`broadcast delivery to ${receiverCount} sockets at ${latencyRate} comments/s, p50 ms (median)`]: median(p50),
      [`broadcast delivery to ${receiverCount} sockets at ${latencyRate} comments/s, p99 ms (median)`]: median(p99),
      rounds,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runChatBench());
}
