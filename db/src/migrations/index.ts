import type { Migration } from 'kysely';
import * as m001 from './2026_11_24_001_init.ts';
import * as m002 from './2026_11_25_001_streamer_presence.ts';
import * as m003 from './2026_12_01_001_stream_keys.ts';
import * as m004 from './2026_12_02_001_recordings.ts';
import * as m005 from './2026_12_10_001_community.ts';
import * as m006 from './2026_12_12_001_recording_timeline.ts';

// A static map, not a folder scan: no ESM path trouble, and the bundle of
// migrations is exactly what this file lists. Keys sort in apply order.
export const migrations: Record<string, Migration> = {
  '2026_11_24_001_init': m001,
  '2026_11_25_001_streamer_presence': m002,
  '2026_12_01_001_stream_keys': m003,
  '2026_12_02_001_recordings': m004,
  '2026_12_10_001_community': m005,
  '2026_12_12_001_recording_timeline': m006,
};
