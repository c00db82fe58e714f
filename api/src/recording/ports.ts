import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';

function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(undefined);
    });
    sock.bind(port, '127.0.0.1', () => resolve(sock));
  });
}

/**
 * An even port free on 127.0.0.1 whose next port is free too (RTP + RTCP),
 * picked by the kernel: never a fixed port. Released before returning; the
 * recorder binds it a moment later.
 */
export async function freeUdpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bindUdp(0);
    if (!first) continue;
    const port = (first.address() as { port: number }).port;
    const base = port % 2 === 0 ? port : port + 1;
    const held = [first];
    const a = base === port ? first : await bindUdp(base);
    const b = await bindUdp(base + 1);
    if (a && a !== first) held.push(a);
    if (b) held.push(b);
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (a && b && base + 1 <= 65535) return base;
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}

/** Whether `pid` has these UDP ports bound on 127.0.0.1 (Linux /proc): the recorder is listening. */
export async function udpPortsBound(ports: readonly number[]): Promise<boolean> {
  const table = await readFile('/proc/net/udp', 'utf8').catch(() => '');
  const bound = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const hex = local?.split(':')[1];
    if (hex) bound.add(parseInt(hex, 16));
  }
  return ports.every((p) => bound.has(p));
}
