/** `mm:ss`, or `h:mm:ss` past an hour. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** Remaining time in words a chat line can carry: `7 s`, `4 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total < 60) return `${total} s`;
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return s > 0 ? `${m} min ${s} s` : `${m} min`;
}

/** Compact counts for badges: 999, 1.2K, 12K, 1.3M. */
export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 10_000) return `${(n / 1000).toFixed(1).replace(/\.0$/, '')}K`;
  if (n < 1_000_000) return `${Math.floor(n / 1000)}K`;
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
}

/** File sizes: 512 B, 3.4 MB, 1.2 GB (1024-based, as disks are counted). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Wall-clock time of a chat line, in the reader's locale. */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/** Grapheme clusters, as the server counts comment length. */
export function graphemeLength(text: string): number {
  if (typeof Intl !== 'undefined' && 'Segmenter' in Intl) {
    let n = 0;
    for (const _ of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) n++;
    return n;
  }
  return [...text].length;
}

const END_REASON_TEXT: Record<string, string> = {
  streamer_ended: 'The streamer ended the stream.',
  max_duration: 'The stream reached the maximum duration allowed on this site.',
  idle_no_viewers: 'The stream ended after a long time with nobody watching.',
  streamer_never_connected: 'The streamer never connected.',
  streamer_left: 'The streamer left before going live.',
  server_restart: 'The server restarted and the streamer did not come back in time.',
  publisher_lost: 'The streamer’s connection was lost and did not come back in time.',
  media_failure: 'The stream’s media failed.',
  admin_ended: 'A site admin ended the stream.',
  force_cleanup: 'The server’s operator ended the stream.',
  stream_gone: 'The stream was removed.',
};

/** Why a stream ended, in words; an admin's own words follow the code after `: ` (api/src/live/stream-rules.ts). */
export function describeEndReason(reason: string): string {
  const colon = reason.indexOf(': ');
  const code = colon === -1 ? reason : reason.slice(0, colon);
  const words = colon === -1 ? '' : reason.slice(colon + 2);
  const base = END_REASON_TEXT[code] ?? 'The stream has ended.';
  return words ? `${base.replace(/\.$/, '')}: “${words}”` : base;
}
