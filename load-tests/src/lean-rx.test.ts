import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket, UdpTransport } from 'werift';
import { LeanReceiver, reusePortForWerift } from './lean-rx.ts';
import { RtpMeter } from './rtp-meter.ts';
import { nowMs } from './stats.ts';

const VIDEO_PT = 101;
const AUDIO_PT = 100;

function rtp(pt: number, seq: number, marker: boolean, payloadBytes: number): Buffer {
  return new RtpPacket(new RtpHeader({ payloadType: pt, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x1234 + pt, marker }), Buffer.alloc(payloadBytes, 7)).serialize();
}

/** A datagram waits in the receive queue of a socket bound to `port` (/proc/net/udp: "tx_queue:rx_queue", hex). */
function queuedOn(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1]?.endsWith(hex) && parseInt(f[4]?.split(':')[1] ?? '0', 16) > 0;
    });
}

async function bound(reusePort: boolean): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reusePort });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

// The batch receiver with its real helper process and real UDP sockets on 127.0.0.1:
// a "viewer" socket made like werift's (SO_REUSEPORT), a "server" socket sending to it.
describe('lean-rx batch receiver', () => {
  let lean: LeanReceiver;
  const logs: string[] = [];
  beforeAll(() => {
    lean = LeanReceiver.start((l) => logs.push(l));
  });
  afterAll(() => lean?.close());

  it('takes over the viewer port: loss, frames and bytes from the headers, STUN back to its owner, kernel receive times', async () => {
    const viewer = await bound(true);
    const server = await bound(false);
    let seenByViewerSocket = 0;
    viewer.on('message', () => seenByViewerSocket++);
    const meter = new RtpMeter({ video: VIDEO_PT, audio: AUDIO_PT });
    const others: Buffer[] = [];
    const heads: number[] = [];
    // video: 100, 101m | 102, 104m (103 late: broken) | 103 | 105, 106m | 107, 109m (108 lost: broken); audio 7, 8
    const plan: [number, number, boolean][] = [
      [VIDEO_PT, 100, false],
      [VIDEO_PT, 101, true],
      [AUDIO_PT, 7, false],
      [VIDEO_PT, 102, false],
      [VIDEO_PT, 104, true],
      [VIDEO_PT, 103, false],
      [VIDEO_PT, 105, false],
      [VIDEO_PT, 106, true],
      [AUDIO_PT, 8, false],
      [VIDEO_PT, 107, false],
      [VIDEO_PT, 109, true],
    ];
    const packets = plan.map(([pt, seq, m]) => rtp(pt, seq, m, 1000));
    const stun = Buffer.from([0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...Array<number>(12).fill(9)]);
    let done!: () => void;
    const allIn = new Promise<void>((r) => (done = r));
    const { ready } = lean.attach(viewer.address(), server.address(), {
      onMedia: (head, wireBytes, at) => {
        heads.push(head.length);
        meter.onPacket(head, at, wireBytes);
        if (meter.packets === plan.length && others.length === 1) done();
      },
      onOther: (data) => {
        others.push(data);
        if (meter.packets === plan.length) done();
      },
    });
    await ready;
    const sentAt = nowMs();
    for (const p of [...packets.slice(0, 5), stun, ...packets.slice(5)]) await new Promise<void>((r) => server.send(p, viewer.address().port, '127.0.0.1', () => r()));
    await allIn;
    const receivedBy = nowMs();

    expect(seenByViewerSocket).toBe(0);
    expect(others).toEqual([stun]);
    expect(meter.video.expected).toBe(10);
    expect(meter.video.received).toBe(9);
    expect(meter.audio.expected).toBe(2);
    expect(meter.expected - meter.packets).toBe(1);
    expect(meter.completeFrames).toBe(2);
    expect(meter.brokenFrames).toBe(2);
    expect(meter.bytes).toBe(packets.reduce((a, p) => a + p.length, 0));
    // Only the headers cross the pipe: the encrypted payload stays in the helper.
    expect(Math.max(...heads)).toBeLessThan(packets[0]!.length);
    // Kernel receive times on this process's clock: after the first send, before the batch arrived here.
    expect(meter.firstPacketAt!).toBeGreaterThanOrEqual(sentAt - 1);
    expect(meter.firstFrameAt!).toBeLessThanOrEqual(receivedBy);
    viewer.close();
    server.close();
  });

  it('stamps packets with the kernel\'s receive time, not the time it read them', async () => {
    const viewer = await bound(true);
    const server = await bound(false);
    const meter = new RtpMeter({ video: VIDEO_PT, audio: AUDIO_PT });
    let got!: () => void;
    const arrived = new Promise<void>((r) => (got = r));
    const { ready } = lean.attach(viewer.address(), server.address(), {
      onMedia: (head, wireBytes, at) => {
        meter.onPacket(head, at, wireBytes);
        got();
      },
      onOther: () => {},
    });
    await ready;
    // The helper is stopped while the packet arrives: it can only read it after SIGCONT.
    process.kill(lean.pid!, 'SIGSTOP');
    await new Promise<void>((r) => server.send(rtp(VIDEO_PT, 1, true, 500), viewer.address().port, '127.0.0.1', () => r()));
    // Loopback delivery finishes in a softirq, maybe after the send returned: wait until the datagram sits in a socket queue.
    const deadline = nowMs() + 5000;
    while (!queuedOn(viewer.address().port) && nowMs() < deadline) await new Promise((r) => setImmediate(r));
    expect(queuedOn(viewer.address().port)).toBe(true);
    const resumedAt = nowMs();
    process.kill(lean.pid!, 'SIGCONT');
    await arrived;
    expect(meter.firstPacketAt!).toBeLessThan(resumedAt);
    viewer.close();
    server.close();
  });

  it('refuses a port it cannot share, and the viewer keeps it', async () => {
    const plain = await bound(false);
    const server = await bound(false);
    const { ready } = lean.attach(plain.address(), server.address(), { onMedia: () => {}, onOther: () => {} });
    await expect(ready).rejects.toMatchObject({ code: 'lean_rx_attach_failed' });
    plain.close();
    server.close();
  });

  it('gives every werift socket a port of its own, though SO_REUSEPORT lets the kernel hand out one twice', async () => {
    reusePortForWerift();
    // Plain SO_REUSEPORT sockets on port 0 share ports (~1 pair in 20,000 per pair of sockets here): 1000 of them collide a dozen times.
    const transports: UdpTransport[] = [];
    for (let i = 0; i < 1000; i++) transports.push(await UdpTransport.init('udp4', { interfaceAddresses: { udp4: '127.0.0.1' } }));
    const ports = new Set(transports.map((t) => t.port));
    await Promise.all(transports.map((t) => t.close()));
    expect(ports.size).toBe(1000);
  }, 60_000);

  it('reports its own CPU time', async () => {
    const deadline = nowMs() + 5000;
    while (lean.cpuMs === 0 && nowMs() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lean.cpuMs).toBeGreaterThan(0);
  });
});
