import { RTCPeerConnection } from 'werift';
async function one(): Promise<[RTCPeerConnection, number]> {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const t = performance.now();
  const done = new Promise<void>((r) => pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && r()));
  const offer = await pc.createOffer();
  if (process.env.NOSTUN) for (const t of pc.iceTransports) (t.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
  await pc.setLocalDescription(offer);
  await done;
  return [pc, performance.now() - t];
}
const n = Number(process.argv[2] ?? 100);
const t0 = performance.now();
const all = await Promise.all(Array.from({ length: n }, one));
console.log('storm gather', n, 'in', (performance.now() - t0).toFixed(0), 'max', Math.max(...all.map((a) => a[1])).toFixed(0));
for (let k = 0; k < 3; k++) { const [pc, ms] = await one(); console.log('after', ms.toFixed(0)); all.push([pc, ms]); }
await Promise.all(all.map(([pc]) => pc.close()));
process.exit(0);
