import { statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Recording ids on the wire and on disk: a positive integer, nothing else (no path can be smuggled in). */
export const RECORDING_ID = /^[1-9][0-9]{0,15}$/;

/** Where a recording's segments and final file live: DATA_DIR/recordings/<id>/. */
export function recordingDir(recordingsDir: string, id: number): string {
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`bad recording id ${id}`);
  return join(recordingsDir, String(id));
}

export function finalFile(recordingsDir: string, id: number, container: string): string {
  return join(recordingDir(recordingsDir, id), `recording.${container === 'mp4' ? 'mp4' : 'webm'}`);
}

export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}
