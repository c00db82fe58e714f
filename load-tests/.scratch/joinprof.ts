import { LoadViewer } from '../src/viewer.ts';
const url = process.argv[2]!;
const n = Number(process.argv[3] ?? 10);
const viewers: LoadViewer[] = [];
for (let i = 0; i < n; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = new LoadViewer({ index: i, wsUrl: url, mode: 'count', localAddress: '127.0.0.1', layer: 'high' });
  await v.join();
  const c = process.cpuUsage(c0);
  const r = v.result();
  console.log(i, 'wall', (performance.now() - t0).toFixed(0), 'cpu', ((c.user + c.system) / 1000).toFixed(1), 'ms', r.error ?? '', JSON.stringify(r.phases));
  viewers.push(v);
}
const pk0 = viewers.reduce((a, v) => a + (v.meter?.packets ?? 0), 0); const c0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, 5000));
const c = process.cpuUsage(c0);
const pk = viewers.reduce((a, v) => a + (v.meter?.packets ?? 0), 0) - pk0; console.log("steady user us/pkt", (c.user / pk).toFixed(1), "sys us/pkt", (c.system / pk).toFixed(1), "pkts", pk);
await Promise.all(viewers.map((v) => v.close()));
process.exit(0);
