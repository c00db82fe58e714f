import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '@redred/db';
import type { Timer } from '@redred/sfu';

/** Counters /metrics reads (observers only: nothing decides on them). */
export interface RecordingMetrics {
  runsStarted: number;
  recorderDeaths: number;
  finalized: number;
  pruned: number;
}

/** What recording needs from the app, passed explicitly. */
export interface RecordingContext {
  db: Db;
  log: FastifyBaseLogger;
  now: () => number;
  timer: Timer;
  ffmpegPath: string;
  ffprobePath: string;
  /** DATA_DIR/recordings */
  recordingsDir: string;
  segmentSeconds: number;
  /** Below this much free disk a recorder does not start, and a running one stops (reason `disk_low`). */
  minFreeBytes: number;
  metrics: RecordingMetrics;
}
