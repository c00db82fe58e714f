import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deleteRecording,
  getRecording,
  getStreamWithStreamer,
  listRecordingsByStatus,
  listRecordingsOldestFirst,
  updateRecording,
} from '@redred/db';
import type { RecordingContext } from './context.ts';
import { finalizeSegments } from './finalize.ts';
import { freeBytes, recordingDir } from './store.ts';
import { StreamRecorder, type RecordedRoom } from './stream-recorder.ts';

export interface RetentionPolicy {
  /** 0: keep forever. */
  retentionDays: number;
  /** 0: no quota. */
  maxBytes: number;
}

/**
 * Recording for the whole server: one StreamRecorder per open room whose
 * stream asked for it, finalisation once a stream has ended, recovery of what
 * a killed server left, retention and the quota (oldest first). Owns the
 * recorders and closes them (and their processes) on shutdown.
 */
export class RecordingService {
  readonly ctx: RecordingContext;
  readonly #policy: RetentionPolicy;
  readonly #recorders = new Map<number, StreamRecorder>();
  readonly #finalizing = new Map<number, Promise<void>>();
  #closed = false;

  constructor(ctx: RecordingContext, policy: RetentionPolicy) {
    this.ctx = ctx;
    this.#policy = policy;
  }

  /** Called for every room opened; records it if its stream asked for it. */
  attach(room: RecordedRoom & { readonly media: { once(event: 'close', l: () => void): unknown } }, record: boolean): void {
    if (!record || this.#closed) return;
    const recorder = new StreamRecorder(this.ctx, room);
    this.#recorders.set(room.streamId, recorder);
    room.media.once('close', () => {
      void recorder.close().then(async () => {
        if (this.#recorders.get(room.streamId) === recorder) this.#recorders.delete(room.streamId);
        if (recorder.recordingId !== undefined && !this.#closed) await this.finalizeIfEnded(recorder.recordingId, false);
      }).catch((err: unknown) => this.ctx.log.error({ module: 'recording', err }, 'finalising after the stream closed failed'));
    });
  }

  recorder(streamId: number): StreamRecorder | undefined {
    return this.#recorders.get(streamId);
  }

  /** Recorders writing now, and the RTP bytes they were sent (metrics). */
  async activity(): Promise<{ active: number; bytesIn: number }> {
    let active = 0;
    let bytesIn = 0;
    for (const r of this.#recorders.values()) {
      if (r.active) active++;
      bytesIn += await r.bytesSent();
    }
    return { active, bytesIn };
  }

  /** Joins the segments into one file once the stream has ended; `crashed`: what a killed server left (partial). */
  finalizeIfEnded(recordingId: number, crashed: boolean): Promise<void> {
    const pending = this.#finalizing.get(recordingId);
    if (pending) return pending;
    const work = this.#finalize(recordingId, crashed).finally(() => this.#finalizing.delete(recordingId));
    this.#finalizing.set(recordingId, work);
    return work;
  }

  async #finalize(recordingId: number, crashed: boolean): Promise<void> {
    const rec = await getRecording(this.ctx.db, recordingId);
    if (!rec || rec.status !== 'recording') return;
    const stream = await getStreamWithStreamer(this.ctx.db, rec.stream_id);
    if (stream && stream.status !== 'ended') return;
    if (this.#recorders.has(rec.stream_id)) return;
    const dir = recordingDir(this.ctx.recordingsDir, rec.id);
    const result = await finalizeSegments({ ffmpeg: this.ctx.ffmpegPath, ffprobe: this.ctx.ffprobePath }, dir, rec.container).catch((err: unknown) => {
      this.ctx.log.error({ module: 'recording', recordingId, err }, 'could not finalise recording');
      return undefined;
    });
    const partial = crashed || rec.stop_reason === 'server_crash' || (result?.dropped ?? 0) > 0;
    await updateRecording(this.ctx.db, rec.id, {
      status: result ? (partial ? 'partial' : 'ready') : 'failed',
      ended_at: stream?.ended_at ?? this.ctx.now(),
      duration_ms: result?.durationMs ?? 0,
      size_bytes: result?.sizeBytes ?? 0,
      segments: result?.segments ?? 0,
      timeline: result && result.timeline.length > 0 ? JSON.stringify(result.timeline) : null,
    });
    this.ctx.metrics.finalized++;
    this.ctx.log.info({ module: 'recording', recordingId, status: result ? (partial ? 'partial' : 'ready') : 'failed', ...result, timeline: result?.timeline.length }, 'recording finalised');
  }

  /**
   * After a restart: recorder processes a killed server left behind are
   * stopped (SIGINT: they close their segment), their recordings marked as
   * crashed, and those of ended streams finalised as partial.
   */
  async recoverAtStartup(): Promise<void> {
    for (const rec of await listRecordingsByStatus(this.ctx.db, ['recording'])) {
      const dir = recordingDir(this.ctx.recordingsDir, rec.id);
      let orphans = 0;
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!/^run-\d{4}\.pid$/.test(name)) continue;
        orphans++;
        const pid = Number((await readFile(join(dir, name), 'utf8').catch(() => '')).trim());
        if (pid > 0) await stopOrphan(pid, dir, this.ctx);
        await rm(join(dir, name), { force: true });
      }
      if (orphans > 0) await updateRecording(this.ctx.db, rec.id, { stop_reason: 'server_crash' });
      await this.finalizeIfEnded(rec.id, orphans > 0);
    }
  }

  /**
   * The sweeper's pass: finalise recordings of streams that ended elsewhere
   * (sweeper, CLI, restart), then retention and the quota, oldest first. Never
   * deletes a recording that is still being written.
   */
  async sweep(): Promise<{ deleted: number[] }> {
    for (const rec of await listRecordingsByStatus(this.ctx.db, ['recording'])) {
      if (!this.#recorders.has(rec.stream_id)) await this.finalizeIfEnded(rec.id, false);
    }
    const { deleted } = await this.prune();
    // Never fill the disk: recorders stop with a reason viewers see.
    const free = await freeBytes(this.ctx.recordingsDir).catch(() => Number.POSITIVE_INFINITY);
    if (free < this.ctx.minFreeBytes) for (const r of this.#recorders.values()) await r.stopFor('disk_low');
    return { deleted };
  }

  /**
   * Retention, then the quota, oldest first; recordings being written count
   * towards the total but are never deleted. Also run by `redred recordings prune`
   * (database and files only, so it is safe beside a running server).
   */
  async prune(opts: { dryRun?: boolean } = {}): Promise<{ deleted: number[] }> {
    const deleted: number[] = [];
    const all = await listRecordingsOldestFirst(this.ctx.db);
    const now = this.ctx.now();
    let total = 0;
    for (const rec of all) total += rec.status === 'recording' ? await dirBytes(recordingDir(this.ctx.recordingsDir, rec.id)) : rec.size_bytes;
    for (const rec of all) {
      if (rec.status === 'recording') continue;
      const expired = this.#policy.retentionDays > 0 && now - (rec.ended_at ?? rec.started_at) > this.#policy.retentionDays * 86_400_000;
      const overQuota = this.#policy.maxBytes > 0 && total > this.#policy.maxBytes;
      if (!expired && !overQuota) continue;
      total -= rec.size_bytes;
      deleted.push(rec.id);
      if (opts.dryRun) continue;
      await this.delete(rec.id);
      this.ctx.metrics.pruned++;
      this.ctx.log.info({ module: 'recording', recordingId: rec.id, reason: expired ? 'retention' : 'quota' }, 'recording deleted');
    }
    return { deleted };
  }

  /** Removes the files, then the row. A recording being written is stopped first. */
  async delete(recordingId: number): Promise<boolean> {
    const rec = await getRecording(this.ctx.db, recordingId);
    if (!rec) return false;
    await this.#recorders.get(rec.stream_id)?.close();
    this.#recorders.delete(rec.stream_id);
    await rm(recordingDir(this.ctx.recordingsDir, rec.id), { recursive: true, force: true });
    return deleteRecording(this.ctx.db, rec.id);
  }

  /** Shutdown: every recorder process is stopped and reaped; segments stay for the next start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#recorders.values()].map((r) => r.close()));
    this.#recorders.clear();
    await Promise.all(this.#finalizing.values());
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}

/** A recorder of ours (its command line names the recording's folder) that outlived its server. */
async function stopOrphan(pid: number, dir: string, ctx: RecordingContext): Promise<void> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(dir)) return;
  ctx.log.warn({ module: 'recording', pid, dir }, 'stopping a recorder left by a previous run');
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    const alive = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c.length > 0, () => false);
    if (!alive) return;
    await new Promise<void>((resolve) => ctx.timer.schedule(resolve, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}
