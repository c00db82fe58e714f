/**
 * Where the joined file's media came from in wall-clock time. The file closes
 * up the gaps between recorder runs (a restart, a worker death, a streamer
 * reconnect), so "comment time − recording start" drifts ahead of the video by
 * each gap; one entry per joined segment puts a wall-clock instant back on the
 * file's time line.
 */
export interface TimelineEntry {
  /** Wall-clock time (ms since the epoch) of this entry's first media. */
  wallMs: number;
  /** Where this entry starts in the joined file (ms). */
  mediaMs: number;
  /** Its length in the joined file (ms). */
  durationMs: number;
}

export type Timeline = readonly TimelineEntry[];

/**
 * The playback position (ms into the file) at which something that happened at
 * `wallMs` belongs. Inside an entry: its position in it. In a gap between runs,
 * or before the first: the start of the next run (nothing of the gap was
 * recorded). After the last: the end of the file. An empty timeline (a
 * recording finalised before timelines were kept) falls back to the time since
 * `fallbackStartMs`.
 */
export function mediaTimeOf(timeline: Timeline, wallMs: number, fallbackStartMs: number): number {
  if (timeline.length === 0) return Math.max(0, wallMs - fallbackStartMs);
  for (const entry of timeline) {
    if (wallMs < entry.wallMs) return entry.mediaMs;
    if (wallMs < entry.wallMs + entry.durationMs) return entry.mediaMs + (wallMs - entry.wallMs);
  }
  const last = timeline[timeline.length - 1]!;
  return last.mediaMs + last.durationMs;
}

/**
 * The timeline of a joined file from its segments in join order: each
 * segment's length in the file, the wall-clock start of its run, and how much
 * of that run came before it (segments of one run follow each other without a
 * gap, including ones left out of the join, whose length still passed).
 */
export function buildTimeline(segments: readonly { runStartMs: number; runOffsetMs: number; durationMs: number }[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let mediaMs = 0;
  for (const s of segments) {
    out.push({ wallMs: s.runStartMs + s.runOffsetMs, mediaMs, durationMs: s.durationMs });
    mediaMs += s.durationMs;
  }
  return out;
}

/** The timeline stored with a recording (JSON text); anything unreadable counts as none. */
export function parseTimeline(text: string | null): TimelineEntry[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    const entries = value.filter(
      (e): e is TimelineEntry =>
        typeof e === 'object' && e !== null && [e.wallMs, e.mediaMs, e.durationMs].every((n) => typeof n === 'number' && Number.isFinite(n)),
    );
    return entries.length === value.length ? entries : [];
  } catch {
    return [];
  }
}
