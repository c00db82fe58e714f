// Slow-consumer benchmark (not a test): while one socket stops reading and ~2 KB
// comments flow, how long until the server drops it, and how late comments reach a
// socket that keeps reading. The behaviour itself is api/src/live/hardening.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startServerProcess } from '../api/src/testing/process.ts';
import { api, registerUser } from '../api/src/testing/server.ts';
import { open, percentile, sleep } from './bench-chat.ts';
import { median } from './bench-db.ts';

export interface SlowConsumerBenchOptions {
  /** Comments per second while the socket is stalled. */
  rate?: number;
  /** Longest a round sends for, should the server never drop the stalled socket. */
  maxSeconds?: number;
  rounds?: number;
}

interface Round {
  /** Until the reader's viewer count drops: includes up to one viewers_update interval (1 s). */
  droppedAfterMs: number;
  latencies: number[];
}

async function round(wsUrl: string, streamer: WebSocket, rate: number, maxSeconds: number, r: number): Promise<Round> {
  const reader = await open(wsUrl);
  const stalled = await open(wsUrl);
  const body = '🎉'.repeat(480);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const marker = new RegExp(`"content":"slow ${r} (\\d+) `);
  let peak = 0;
  let droppedAt = 0;
  reader.on('message', (data) => {
    const text = data.toString();
    const m = marker.exec(text);
    if (m) latencies.push(performance.now() - sentAt.get(Number(m[1]))!);
    else if (text.startsWith('{"type":"viewers_update"')) {
      const viewers = (JSON.parse(text) as { viewers: number }).viewers;
      if (viewers < peak && droppedAt === 0) droppedAt = performance.now();
      peak = Math.max(peak, viewers);
    }
  });
  (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
  const stalledAt = performance.now();
  let i = 0;
  for (; i < rate * maxSeconds && droppedAt === 0; i++) {
    sentAt.set(i, performance.now());
    streamer.send(JSON.stringify({ type: 'comment', requestId: `slow${r}-${i}`, content: `slow ${r} ${i} ${body}` }));
    await sleep(1000 / rate);
  }
  for (let waited = 0; latencies.length < i && waited < 10_000; waited += 50) await sleep(50);
  reader.terminate();
  stalled.terminate();
  if (droppedAt === 0) throw new Error(`the stalled socket was not dropped within ${maxSeconds} s`);
  if (latencies.length < i) throw new Error(`the reader got ${latencies.length} of ${i} comments`);
  return { droppedAfterMs: droppedAt - stalledAt, latencies: latencies.sort((a, b) => a - b) };
}

export async function runSlowConsumerBench(opts: SlowConsumerBenchOptions = {}) {
  const { rate = 200, maxSeconds = 6, rounds = 3 } = opts;
  const dataDir = mkdtempSync(join(tmpdir(), 'redred-bench-slow-'));
  const server = await startServerProcess({ DATA_DIR: dataDir, WS_MESSAGES_PER_SECOND: '1000000', WS_MESSAGE_BURST: '1000000' });
  try {
    const host = await registerUser(server.url, 'benchslowhost');
    const created = await api(server.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'slow consumer bench' } });
    if (created.status !== 201) throw new Error(`create stream: ${created.status}`);
    const wsUrl = `${server.url.replace('http', 'ws')}/ws/live/${created.body.stream.id}`;
    const streamer = await open(wsUrl, host.token);
    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) results.push(await round(wsUrl, streamer, rate, maxSeconds, r));
    streamer.terminate();
    return {
      [`stalled socket dropped after, ms, at ${rate} comments/s of ~2 KB (median; +≤1 s of count coalescing)`]: median(results.map((x) => x.droppedAfterMs)),
      'reading socket meanwhile: delivery p50 ms (median)': median(results.map((x) => percentile(x.latencies, 50))),
      'reading socket meanwhile: delivery p99 ms (median)': median(results.map((x) => percentile(x.latencies, 99))),
      rounds,
    };
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runSlowConsumerBench());
}
