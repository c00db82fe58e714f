import type { Snapshot } from './session.ts';

export interface ServerViewerCount {
  /** null: no count was sampled at that moment (the report says "not measured", the check is skipped). */
  count: number | null;
  /** `metrics`: redred_viewers from /metrics; `announced`: the last viewers_update the streamer's socket got before the snapshot. */
  source: 'metrics' | 'announced' | null;
}

/**
 * The server's own viewer count as one snapshot saw it. Both sources are read
 * when the snapshot is taken, so the count and the crowd it is compared with
 * belong to the same moment (a count read when the report is built includes
 * the probes, or the next step's crowd). A cluster's nodes each count their own
 * people (an account on two nodes is on both): there the announced count is the
 * stream's.
 */
export function serverViewerCount(snap: Pick<Snapshot, 'metrics' | 'announcedViewers' | 'nodes'>): ServerViewerCount {
  const fromMetrics = snap.metrics?.viewers ?? null;
  const announced = snap.announcedViewers;
  const order: ServerViewerCount[] = [
    { count: fromMetrics, source: 'metrics' },
    { count: announced, source: 'announced' },
  ];
  if (snap.nodes) order.reverse();
  return order.find((c) => c.count !== null) ?? { count: null, source: null };
}
