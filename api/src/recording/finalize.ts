import { spawn } from 'node:child_process';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runStartFile, SEGMENT_NAME } from './recorder-process.ts';
import { buildTimeline, type TimelineEntry } from './timeline.ts';

export interface ProbeResult {
  durationMs: number;
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('error', (err) => resolve({ code: null, stdout, stderr: String(err) }));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** ffprobe's view of a file; undefined when it holds nothing playable. */
export async function probe(ffprobe: string, file: string): Promise<ProbeResult | undefined> {
  const r = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  if (r.code !== 0) return undefined;
  try {
    const j = JSON.parse(r.stdout) as { format?: { duration?: string }; streams?: ProbeResult['streams'] };
    const streams = j.streams ?? [];
    if (!streams.some((s) => s.codec_type === 'video')) return undefined;
    return { durationMs: Math.round(Number(j.format?.duration ?? 0) * 1000), streams };
  } catch {
    return undefined;
  }
}

/** Matroska's Cluster element id / MP4's movie fragment box: a segment without one holds no media. */
const MEDIA_MARKER = { webm: Buffer.from([0x1f, 0x43, 0xb6, 0x75]), mp4: Buffer.from('moof') };

async function holdsMedia(file: string, ext: 'webm' | 'mp4'): Promise<boolean> {
  const bytes = await readFile(file).catch(() => Buffer.alloc(0));
  return bytes.includes(MEDIA_MARKER[ext]);
}

export interface FinalizeResult {
  file: string;
  durationMs: number;
  sizeBytes: number;
  segments: number;
  /** Segments with media left out: unreadable, or a different track layout than the rest (empty ones do not count). */
  dropped: number;
  /** Wall-clock origin of each joined segment; empty when a run's start time is missing (written before timelines were kept). */
  timeline: TimelineEntry[];
}

/**
 * Joins a recording's segments into one file with `-c copy` (no re-encode).
 * Each segment is remuxed first: a segment whose recorder was killed has no
 * index and may end mid-cluster, and a remux keeps what is readable. The
 * concat demuxer needs one track layout, so segments unlike the majority (a
 * run without the microphone) are left out. Returns undefined if nothing is
 * playable. The segments are removed once the file is in place.
 */
export async function finalizeSegments(
  tools: { ffmpeg: string; ffprobe: string },
  dir: string,
  container: string,
): Promise<FinalizeResult | undefined> {
  const ext: 'webm' | 'mp4' = container === 'mp4' ? 'mp4' : 'webm';
  const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  const usable: { file: string; layout: string; run: number; runOffsetMs: number; durationMs: number }[] = [];
  const runOffsets = new Map<number, number>();
  let dropped = 0;
  for (const name of names) {
    const runNo = Number(SEGMENT_NAME.exec(name)![1]);
    const source = join(dir, name);
    const fixed = join(dir, `fixed-${name}`);
    const r = await run(tools.ffmpeg, ['-v', 'error', '-y', '-i', source, '-c', 'copy', '-f', ext === 'mp4' ? 'mp4' : 'webm', fixed]);
    const probed = r.code === 0 ? await probe(tools.ffprobe, fixed) : undefined;
    if (!probed || probed.durationMs <= 0) {
      // A run stopped before its first packet (its tap closed at once, as when a worker dies twice in a row) leaves a header only: nothing is lost.
      if (await holdsMedia(source, ext)) dropped++;
      await rm(fixed, { force: true });
      continue;
    }
    const runOffsetMs = runOffsets.get(runNo) ?? 0;
    runOffsets.set(runNo, runOffsetMs + probed.durationMs);
    usable.push({ file: fixed, layout: probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort().join(','), run: runNo, runOffsetMs, durationMs: probed.durationMs });
  }
  const counts = new Map<string, number>();
  for (const u of usable) counts.set(u.layout, (counts.get(u.layout) ?? 0) + 1);
  const layout = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const chosen = usable.filter((u) => u.layout === layout);
  dropped += usable.length - chosen.length;
  if (chosen.length === 0) {
    for (const u of usable) await rm(u.file, { force: true });
    return undefined;
  }
  const list = join(dir, 'concat.txt');
  await writeFile(list, chosen.map((u) => `file '${u.file.replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  const out = join(dir, `recording.tmp.${ext}`);
  const args = ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy'];
  if (ext === 'mp4') args.push('-movflags', '+faststart');
  const r = await run(tools.ffmpeg, [...args, out]);
  for (const u of usable) await rm(u.file, { force: true });
  await rm(list, { force: true });
  if (r.code !== 0) {
    await rm(out, { force: true });
    throw new Error(`concat failed: ${r.stderr.trim()}`);
  }
  const file = join(dir, `recording.${ext}`);
  await rename(out, file);
  const probed = await probe(tools.ffprobe, file);
  const timeline = await timelineOf(dir, chosen);
  for (const name of names) await rm(join(dir, name), { force: true });
  for (const name of await readdir(dir)) if (/^run-\d{4}\.(sdp|pid|start)$/.test(name)) await rm(join(dir, name), { force: true });
  return { file, durationMs: probed?.durationMs ?? 0, sizeBytes: (await stat(file)).size, segments: chosen.length, dropped, timeline };
}

async function timelineOf(dir: string, joined: readonly { run: number; runOffsetMs: number; durationMs: number }[]): Promise<TimelineEntry[]> {
  const starts = new Map<number, number>();
  for (const { run } of joined) {
    if (starts.has(run)) continue;
    const start = Number((await readFile(runStartFile(dir, run), 'utf8').catch(() => '')).trim());
    if (!(start > 0)) return [];
    starts.set(run, start);
  }
  return buildTimeline(joined.map((s) => ({ runStartMs: starts.get(s.run)!, runOffsetMs: s.runOffsetMs, durationMs: s.durationMs })));
}
