import { LoadViewer } from '../src/viewer.ts';
const url = process.argv[2]!;
const n = Number(process.argv[3] ?? 100);
const t0 = performance.now();
const crowd = Array.from({ length: n }, (_, i) => new LoadViewer({ index: i, wsUrl: url, mode: 'count', localAddress: '127.0.0.1', layer: 'high' }));
await Promise.all(crowd.map((v) => v.join()));
console.log('storm done in', (performance.now() - t0).toFixed(0), 'ms; failed', crowd.filter((v) => v.failed).length);
const ph = crowd.map((v) => v.result().phases);
console.log('dtls p50', ph.map((p) => p.dtls! - p.answered!).sort((a, b) => a - b)[n >> 1]);
await new Promise((r) => setTimeout(r, 3000));
for (let k = 0; k < 3; k++) {
  const v = new LoadViewer({ index: 1000 + k, wsUrl: url, mode: 'count', localAddress: '127.0.0.1', layer: 'high' });
  await v.join();
  console.log('probe', JSON.stringify(v.result().phases));
  crowd.push(v);
}
await Promise.all(crowd.map((v) => v.close()));
process.exit(0);
