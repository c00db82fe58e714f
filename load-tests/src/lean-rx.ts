// The counting viewers' receive path: a small C helper (../native/lean-rx.c)
// reads, for every counting viewer of this process, the datagrams the SFU sends
// it, with recvmmsg, and passes them on in batches: RTP/RTCP headers to the
// viewer's RtpMeter, STUN and DTLS back to werift. Node's dgram costs ~6 µs of
// CPU per datagram however little the handler does; the helper a fraction of it.
// werift keeps its socket (made with SO_REUSEPORT) and sends from it as before:
// ICE consent checks, DTLS alerts; only the receiving moves.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UdpTransport } from 'werift';
import { nowMs } from './stats.ts';

const SOURCE = fileURLToPath(new URL('../native/lean-rx.c', import.meta.url));
const HDR = 16;
const REUSE_PORT_PATCHED = Symbol.for('redred.load.reusePort');

export class LeanRxError extends Error {
  constructor(
    readonly code: 'lean_rx_build_failed' | 'lean_rx_attach_failed' | 'lean_rx_closed',
    message: string,
  ) {
    super(message);
  }
}

/** Compiles the helper once per source version (cached in the temp directory); returns its path. */
export function buildLeanRx(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'redred-load-tests');
  const bin = join(dir, `lean-rx-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const partial = `${bin}.${process.pid}`;
  const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', partial, SOURCE], { encoding: 'utf8' });
  if (cc.status !== 0) throw new LeanRxError('lean_rx_build_failed', `compiling ${SOURCE}: ${cc.error?.message ?? cc.stderr.trim()}`);
  // Several viewer processes may build at once: the rename is atomic.
  renameSync(partial, bin);
  return bin;
}

/** Other sockets bound to `port` on this box (/proc/net/udp, udp6); 0 when it cannot be read. */
function socketsOnPort(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  let n = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      for (const line of readFileSync(table, 'utf8').split('\n')) {
        // "  sl  local_address rem_address …": the local port ends the second field.
        const local = line.trim().split(/\s+/)[1];
        if (local && `${local.slice(local.indexOf(':'))} ` === hex) n++;
      }
    } catch {
      return 0;
    }
  }
  return n;
}

/**
 * werift binds its ICE sockets itself; the helper can only join a port whose
 * first socket allowed it. Makes every werift UDP socket created from now on in
 * this process a SO_REUSEPORT one (which changes nothing until a second socket
 * joins). The kernel may hand the same ephemeral port to two SO_REUSEPORT
 * sockets of one user (two viewers would then share a 5-tuple towards the
 * SFU's single port): a socket that finds itself sharing its port binds again.
 */
export function reusePortForWerift(): void {
  const proto = UdpTransport.prototype as unknown as { init(): Promise<void>; [REUSE_PORT_PATCHED]?: true };
  if (proto[REUSE_PORT_PATCHED]) return;
  const init = proto.init;
  proto.init = async function (this: { socket: Socket; socketType: 'udp4' | 'udp6' }) {
    for (let attempt = 0; ; attempt++) {
      const previous = this.socket;
      const socket = createSocket({ type: this.socketType, reusePort: true });
      for (const listener of previous.listeners('message')) socket.on('message', listener as (msg: Buffer) => void);
      this.socket = socket;
      previous.close();
      await init.call(this);
      if (attempt >= 20 || socketsOnPort(socket.address().port) <= 1) return;
    }
  };
  proto[REUSE_PORT_PATCHED] = true;
}

export interface LeanSink {
  /** An RTP or RTCP datagram: its first bytes (header and extensions), its size on the wire, the kernel's receive time (nowMs clock). */
  onMedia(head: Uint8Array, wireBytes: number, at: number): void;
  /** STUN, DTLS: werift's business. */
  onOther(data: Buffer): void;
}

interface Endpoint {
  address: string;
  port: number;
}

/** One helper process for all the counting viewers of this process. `close()` is idempotent. */
export class LeanReceiver {
  readonly #child: ChildProcess;
  readonly #sinks = new Map<number, LeanSink>();
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  /** hrtime (CLOCK_MONOTONIC) ms minus nowMs(): the helper's times are monotonic. */
  readonly #clockOffset = Number(process.hrtime.bigint()) / 1e6 - nowMs();
  #rest: Buffer | null = null;
  #nextId = 1;
  #cpuMs = 0;
  #closed = false;

  private constructor(bin: string, log: (line: string) => void, roundMs?: number) {
    this.#child = spawn(bin, roundMs === undefined ? [] : [String(roundMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdout!.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#child.stdin!.on('error', () => {});
    this.#child.once('exit', (code, signal) => {
      // Its sockets are gone with it: the SFU's datagrams reach werift's sockets again, whose tap counts them.
      if (!this.#closed) log(`lean-rx helper exited (${signal ?? `code ${code}`}); its viewers fall back to Node's dgram`);
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(new LeanRxError('lean_rx_closed', 'the lean-rx helper exited'));
      this.#pending.clear();
    });
  }

  /** Builds (if needed) and starts the helper; throws LeanRxError when there is no C compiler. `roundMs`: its read period (20). */
  static start(log: (line: string) => void, roundMs?: number): LeanReceiver {
    reusePortForWerift();
    return new LeanReceiver(buildLeanRx(), log, roundMs);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** CPU of the helper process (user + system), as it last reported (every 0.5 s while busy). */
  get cpuMs(): number {
    return this.#cpuMs;
  }

  /** From now on, the datagrams `remote` sends to `local` go to `sink`. Resolves once the helper's socket is in place. */
  attach(local: Endpoint, remote: Endpoint, sink: LeanSink): { id: number; ready: Promise<void> } {
    if (this.#closed) throw new LeanRxError('lean_rx_closed', 'the lean-rx helper is closed');
    const id = this.#nextId++;
    if (id > 0xffff) throw new LeanRxError('lean_rx_attach_failed', 'more than 65535 viewers on one helper');
    this.#sinks.set(id, sink);
    const ready = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#child.stdin!.write(`add ${id} ${local.address} ${local.port} ${remote.address} ${remote.port}\n`);
    return { id, ready };
  }

  detach(id: number): void {
    if (!this.#sinks.delete(id) || this.#closed) return;
    this.#child.stdin!.write(`del ${id}\n`);
  }

  #onData(chunk: Buffer): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let off = 0;
    while (off + HDR <= buf.length) {
      const cap = buf.readUInt16LE(off + 6);
      const end = off + HDR + cap;
      if (end > buf.length) break;
      const kind = buf[off]!;
      const id = buf.readUInt16LE(off + 2);
      if (kind === 0) {
        this.#sinks.get(id)?.onMedia(buf.subarray(off + HDR, end), buf.readUInt16LE(off + 4), buf.readDoubleLE(off + 8) - this.#clockOffset);
      } else if (kind === 1) {
        this.#sinks.get(id)?.onOther(Buffer.from(buf.subarray(off + HDR, end)));
      } else if (kind === 2) {
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        this.#sinks.delete(id);
        p?.reject(new LeanRxError('lean_rx_attach_failed', buf.toString('utf8', off + HDR, end)));
      } else if (kind === 3) {
        this.#pending.get(id)?.resolve();
        this.#pending.delete(id);
      } else if (kind === 4) {
        this.#cpuMs = buf.readDoubleLE(off + 8);
      }
      off = end;
    }
    this.#rest = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.stdin!.end();
    this.#child.kill('SIGKILL');
  }
}
