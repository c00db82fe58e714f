import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TypedEmitter, type Timer } from '@redred/sfu';
import type { FastifyBaseLogger } from 'fastify';
import { udpPortsBound } from './ports.ts';
import type { RecordingContainer } from './sdp.ts';

export interface RecorderProcessOptions {
  ffmpegPath: string;
  /** The recording's folder: the SDP, the pid file and the segments of this run go here. */
  dir: string;
  /** Runs number the recorder processes of one recording (a run ends when media or the process goes away). */
  run: number;
  sdp: string;
  container: RecordingContainer;
  segmentSeconds: number;
  timer: Timer;
  log: FastifyBaseLogger;
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stop() asked for it; otherwise the process died on its own (killed, crashed). */
  expected: boolean;
}

export type RecorderProcessEvents = { exit: [RecorderExit] };

const LISTEN_POLL_MS = 25;
const SILENCE_EXIT_SECONDS = 3;
const STOP_GRACE_MS = (SILENCE_EXIT_SECONDS + 3) * 1000;

/** Segment file names of one run: `run-0003-0000.webm`, sorted by name = sorted by time. */
export function segmentPattern(run: number, container: RecordingContainer): string {
  return `run-${String(run).padStart(4, '0')}-%04d.${container}`;
}

export const SEGMENT_NAME = /^run-(\d{4})-(\d{4})\.(webm|mp4)$/;

/**
 * One ffmpeg process receiving a RecorderTap's RTP and writing segments with
 * `-c copy`. A child the server owns: its pid is written beside its segments
 * so a server that was killed can find and stop it at the next start, and
 * `stop()` ends it with SIGINT (ffmpeg closes the segment properly), then
 * SIGKILL if it lingers.
 *
 * ffmpeg does no NACK and little jitter handling as an RTP receiver: the tap
 * sends it already repaired media over loopback, the socket buffer is large
 * and the reorder queue covers bursts.
 */
export class RecorderProcess extends TypedEmitter<RecorderProcessEvents> {
  readonly run: number;
  readonly #child: ChildProcess;
  readonly #opts: RecorderProcessOptions;
  readonly #exited: Promise<RecorderExit>;
  #stopping = false;
  #exit: RecorderExit | undefined;
  #stderr = '';

  static async start(opts: RecorderProcessOptions): Promise<RecorderProcess> {
    const sdpPath = join(opts.dir, `run-${String(opts.run).padStart(4, '0')}.sdp`);
    await writeFile(sdpPath, opts.sdp);
    const format =
      opts.container === 'mp4'
        ? ['-segment_format', 'mp4', '-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof']
        : ['-segment_format', 'webm'];
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'warning',
      '-protocol_whitelist', 'file,udp,rtp',
      '-buffer_size', String(8 * 1024 * 1024),
      '-reorder_queue_size', '2000',
      '-analyzeduration', '10000000',
      // ffmpeg ends on its own (closing the segment) after this much silence:
      // media gone, or a killed server whose workers died with it.
      '-listen_timeout', String(SILENCE_EXIT_SECONDS),
      '-fflags', '+genpts',
      '-i', sdpPath,
      '-map', '0:v:0', '-map', '0:a:0?',
      '-c', 'copy',
      '-f', 'segment', '-segment_time', String(opts.segmentSeconds), '-reset_timestamps', '1', ...format,
      join(opts.dir, segmentPattern(opts.run, opts.container)),
    ];
    const child = spawn(opts.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const recorder = new RecorderProcess(child, opts);
    if (child.pid !== undefined) await writeFile(pidFile(opts.dir, opts.run), `${child.pid}\n`).catch(() => {});
    return recorder;
  }

  private constructor(child: ChildProcess, opts: RecorderProcessOptions) {
    super((event, error) => opts.log.error({ module: 'recorder', event, err: error }, 'RecorderProcess listener failed'));
    this.run = opts.run;
    this.#child = child;
    this.#opts = opts;
    child.stderr?.on('data', (d: Buffer) => {
      // The tail is enough to say why it failed.
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.#exit) return;
        this.#exit = { code, signal, expected: this.#stopping };
        void rm(pidFile(opts.dir, opts.run), { force: true });
        const level = this.#exit.expected ? 'debug' : 'warn';
        opts.log[level]({ module: 'recorder', run: opts.run, code, signal, stderr: this.#stderr.trim() || undefined }, 'recorder exited');
        this.safeEmit('exit', this.#exit);
        resolve(this.#exit);
      };
      child.once('exit', done);
      child.once('error', (err) => {
        opts.log.error({ module: 'recorder', err }, 'recorder could not start');
        done(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** Resolves once ffmpeg has bound every RTP and RTCP port; rejects if it exits or takes longer than `timeoutMs`. */
  async listening(rtpPorts: readonly number[], timeoutMs = 10_000): Promise<void> {
    const ports = rtpPorts.flatMap((p) => [p, p + 1]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#exit) throw new Error(`recorder exited before listening: ${this.#stderr.trim()}`);
      if (await udpPortsBound(ports)) return;
      if (Date.now() > deadline) throw new Error('recorder did not bind its ports in time');
      await new Promise<void>((resolve) => this.#opts.timer.schedule(resolve, LISTEN_POLL_MS));
    }
  }

  /** SIGINT (ffmpeg finishes the segment it writes), SIGKILL after a grace period. Idempotent. */
  async stop(): Promise<RecorderExit> {
    if (!this.#exit && !this.#stopping) {
      this.#stopping = true;
      // SIGINT is seen between packets; once none come, -listen_timeout ends the
      // read. Either way ffmpeg writes the segment's trailer.
      this.#child.kill('SIGINT');
      const cancel = this.#opts.timer.schedule(() => this.#child.kill('SIGKILL'), STOP_GRACE_MS);
      void this.#exited.then(cancel);
    }
    return this.#exited;
  }
}

/** The wall-clock time a run's media started (ms), written once the tap resumed: the recording's timeline (timeline.ts). */
export function runStartFile(dir: string, run: number): string {
  return join(dir, `run-${String(run).padStart(4, '0')}.start`);
}

export function pidFile(dir: string, run: number): string {
  return join(dir, `run-${String(run).padStart(4, '0')}.pid`);
}
