import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { openRecording, updateRecording } from '@redred/db';
import type { RecorderTap, StreamRouter } from '@redred/sfu';
import type { RecordingContext } from './context.ts';
import { RecorderProcess, runStartFile, SEGMENT_NAME } from './recorder-process.ts';
import { freeUdpPortPair } from './ports.ts';
import { containerFor, recorderSdp } from './sdp.ts';
import { freeBytes, recordingDir } from './store.ts';

/** Media settles (camera and microphone arrive one after the other) before a run starts. */
const SETTLE_MS = 500;
/** After a recorder died, wait this long before the next run. */
const RESTART_MS = 1000;
/** Keyframe re-requests after a run starts: the first may be lost or come before ffmpeg is reading. */
const START_KEYFRAME_DELAYS_MS = [300, 1000, 2500];

export interface RecordedRoom {
  readonly streamId: number;
  readonly channelId: number;
  readonly media: StreamRouter;
  publish(event: { kind: 'recording'; recording: boolean; reason?: string }): void;
}

interface Run {
  tap: RecorderTap;
  process: RecorderProcess;
  cancelTimers: (() => void)[];
}

/**
 * Records one stream while its room is open: a run (a RecorderTap and one
 * ffmpeg process) whenever the stream has video, a new run when media comes
 * back (recorder killed, worker died, streamer republished), segments on disk
 * throughout. Owned by the RecordingService; closed with the room's media.
 */
export class StreamRecorder {
  readonly #ctx: RecordingContext;
  readonly #room: RecordedRoom;
  #recordingId: number | undefined;
  #dir = '';
  #run: Run | undefined;
  #nextRun = 1;
  #starting: Promise<void> | undefined;
  #cancelPending: (() => void) | undefined;
  #stoppedReason: string | undefined;
  #closed = false;
  /** Settles when every stopped run's process has exited. */
  #stopping: Promise<void> = Promise.resolve();
  readonly #onMediaChange = () => this.#schedule(SETTLE_MS);
  /** Settles when the last run's process has exited after close(). */
  #closedDone: Promise<void> = Promise.resolve();

  constructor(ctx: RecordingContext, room: RecordedRoom) {
    this.#ctx = ctx;
    this.#room = room;
    room.media.on('produceradded', this.#onMediaChange);
    room.media.on('mediareset', this.#onMediaChange);
    room.media.on('close', () => void this.close());
    if (room.media.getProducers().some((p) => p.kind === 'video')) this.#schedule(0);
  }

  get recordingId(): number | undefined {
    return this.#recordingId;
  }

  get active(): boolean {
    return this.#run !== undefined;
  }

  async bytesSent(): Promise<number> {
    return (await this.#run?.tap.bytesSent()) ?? 0;
  }

  /** Stops the current run (the segment is closed properly). Resolves once its process is gone. */
  close(): Promise<void> {
    if (this.#closed) return this.#closedDone;
    this.#closed = true;
    this.#cancelPending?.();
    this.#room.media.off('produceradded', this.#onMediaChange);
    this.#room.media.off('mediareset', this.#onMediaChange);
    this.#closedDone = (this.#starting ?? Promise.resolve()).then(() => this.#stopRun());
    return this.#closedDone;
  }

  /** Stops recording for good with a reason the viewers see (disk low). */
  async stopFor(reason: string): Promise<void> {
    if (this.#stoppedReason) return;
    this.#stoppedReason = reason;
    this.#cancelPending?.();
    // A run being started finishes starting first, or it would keep writing after this.
    await this.#starting;
    await this.#halt(reason);
  }

  async #halt(reason: string): Promise<void> {
    this.#ctx.log.warn({ module: 'recording', streamId: this.#room.streamId, reason }, 'recording stopped');
    // Without a run (the disk was low before the first one) nobody would hear why recording is off.
    if (this.#run) await this.#stopRun(reason);
    else this.#room.publish({ kind: 'recording', recording: false, reason });
    if (this.#recordingId !== undefined) await updateRecording(this.#ctx.db, this.#recordingId, { stop_reason: reason });
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#stoppedReason) return;
    this.#cancelPending?.();
    this.#cancelPending = this.#ctx.timer.schedule(() => {
      this.#cancelPending = undefined;
      this.#starting ??= this.#restart().finally(() => {
        this.#starting = undefined;
      });
    }, delayMs);
  }

  /** Ends the current run, if any, and starts one on the stream's current media. */
  async #restart(): Promise<void> {
    await this.#stopRun();
    if (this.#closed || this.#stoppedReason || this.#room.media.closed) return;
    if (!this.#room.media.getProducers().some((p) => p.kind === 'video')) return;
    const free = await freeBytes(this.#ctx.recordingsDir).catch(() => Number.POSITIVE_INFINITY);
    if (free < this.#ctx.minFreeBytes) {
      // Inside #starting: stopFor would wait for itself.
      if (!this.#stoppedReason) {
        this.#stoppedReason = 'disk_low';
        await this.#halt('disk_low');
      }
      return;
    }
    try {
      await this.#startRun();
    } catch (err) {
      this.#ctx.log.warn({ module: 'recording', streamId: this.#room.streamId, err }, 'recorder run failed to start; retrying');
      await this.#stopRun();
      this.#schedule(RESTART_MS);
    }
  }

  async #startRun(): Promise<void> {
    const videoPort = await freeUdpPortPair();
    const audioPort = await freeUdpPortPair();
    const tap = await this.#room.media.createRecorderTap({
      ip: '127.0.0.1',
      video: { rtpPort: videoPort, rtcpPort: videoPort + 1 },
      audio: { rtpPort: audioPort, rtcpPort: audioPort + 1 },
    });
    try {
      await this.#launch(tap, videoPort, audioPort);
    } catch (err) {
      if (this.#run?.tap !== tap) tap.close();
      throw err;
    }
  }

  async #launch(tap: RecorderTap, videoPort: number, audioPort: number): Promise<void> {
    const ctx = this.#ctx;
    const container = containerFor(tap.tracks);
    if (this.#recordingId === undefined) {
      const row = await openRecording(ctx.db, { streamId: this.#room.streamId, channelId: this.#room.channelId, container, now: ctx.now() });
      this.#recordingId = row.id;
      this.#dir = recordingDir(ctx.recordingsDir, row.id);
      await mkdir(this.#dir, { recursive: true });
      this.#nextRun = (await lastRun(this.#dir)) + 1;
    }
    const ports = tap.tracks.map((t) => (t.kind === 'video' ? videoPort : audioPort));
    const sdp = recorderSdp(tap.tracks.map((t, i) => ({ ...t, rtpPort: ports[i]! })));
    const process = await RecorderProcess.start({
      ffmpegPath: ctx.ffmpegPath,
      dir: this.#dir,
      run: this.#nextRun++,
      sdp,
      container,
      segmentSeconds: ctx.segmentSeconds,
      timer: ctx.timer,
      log: ctx.log,
    });
    const run: Run = { tap, process, cancelTimers: [] };
    this.#run = run;
    tap.on('close', (reason) => {
      if (this.#run !== run) return;
      // The producer or the router went away: close this run's segment; a new run starts when media is back.
      this.#ctx.log.info({ module: 'recording', streamId: this.#room.streamId, reason }, 'recorder tap closed; segment ends');
      void this.#stopRun().then(() => this.#schedule(SETTLE_MS));
    });
    process.on('exit', (exit) => {
      if (exit.expected || this.#run !== run) return;
      ctx.metrics.recorderDeaths++;
      void this.#stopRun().then(() => this.#schedule(RESTART_MS));
    });
    await process.listening(ports);
    await tap.resume();
    // Media flows from here (from the keyframe just asked for): the chat replay places comments by it.
    await writeFile(runStartFile(this.#dir, process.run), `${ctx.now()}\n`);
    for (const delay of START_KEYFRAME_DELAYS_MS) run.cancelTimers.push(ctx.timer.schedule(() => void tap.requestKeyFrame().catch(() => {}), delay));
    // The segmenter cuts only at keyframes; browsers send one only when asked.
    const every = ctx.segmentSeconds * 1000;
    const periodic = () => {
      void tap.requestKeyFrame().catch(() => {});
      run.cancelTimers.push(ctx.timer.schedule(periodic, every));
    };
    run.cancelTimers.push(ctx.timer.schedule(periodic, every));
    ctx.metrics.runsStarted++;
    ctx.log.info({ module: 'recording', streamId: this.#room.streamId, recordingId: this.#recordingId, run: process.run, pid: process.pid }, 'recorder run started');
    this.#room.publish({ kind: 'recording', recording: true });
  }

  /** Ends the current run; resolves once every run stopped so far has exited (finalising must not race a writer). */
  async #stopRun(reason?: string): Promise<void> {
    const run = this.#run;
    if (run) {
      this.#run = undefined;
      for (const cancel of run.cancelTimers) cancel();
      // The process first: while media still flows it sees SIGINT at once.
      const stopped = run.process.stop().then(() => {
        run.tap.close();
        this.#room.publish({ kind: 'recording', recording: false, ...(reason ? { reason } : {}) });
      });
      this.#stopping = Promise.all([this.#stopping, stopped]).then(() => {});
    }
    await this.#stopping;
  }
}

/** The highest run number already on disk (a recording continues after a server restart). */
async function lastRun(dir: string): Promise<number> {
  let last = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = SEGMENT_NAME.exec(name) ?? /^run-(\d{4})\.sdp$/.exec(name);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last;
}
