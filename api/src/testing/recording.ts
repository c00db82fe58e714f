import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { requireBinary } from './owned-process.ts';

/** Polls a condition of the server's state (no fixed sleeps): resolves once it holds, fails the test after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Probed {
  duration: number;
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}

/** Debian's ffprobe on a finished recording. */
export function ffprobe(file: string): Probed {
  const r = spawnSync(requireBinary('ffprobe', 'ffmpeg'), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const j = JSON.parse(r.stdout) as { format: { duration: string }; streams: Probed['streams'] };
  return { duration: Number(j.format.duration), streams: j.streams };
}

/** The recorder runs whose pid files are in a recording's folder now (run numbers). */
export function runningRuns(dir: string): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^run-(\d{4})\.pid$/.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

export interface Playback {
  duration: number;
  seekedTo: number;
  ended: boolean;
  frames: number;
  width: number;
}

/**
 * Plays `src` in the page's `<video>`: seeks to `seekFraction` of its duration
 * (through a range request), then plays at 4× to the end.
 */
export function playInPage(page: Page, src: string, seekFraction = 0.5): Promise<Playback> {
  return page.evaluate(
    async ({ src, seekFraction }) => {
      const video = document.createElement('video');
      video.muted = true;
      video.src = src;
      document.body.append(video);
      await new Promise<void>((resolve, reject) => {
        video.onloadedmetadata = () => resolve();
        video.onerror = () => reject(new Error(`media error ${video.error?.code}`));
      });
      const duration = video.duration;
      video.currentTime = duration * seekFraction;
      await new Promise((r) => (video.onseeked = r));
      const seekedTo = video.currentTime;
      video.playbackRate = 4;
      await video.play();
      await new Promise<void>((resolve, reject) => {
        video.onended = () => resolve();
        video.onerror = () => reject(new Error(`media error ${video.error?.code}`));
      });
      const q = video.getVideoPlaybackQuality();
      video.remove();
      return { duration, seekedTo, ended: video.ended, frames: q.totalVideoFrames, width: video.videoWidth };
    },
    { src, seekFraction },
  );
}
