import { describe, expect, it } from 'vitest';
import type { ServerMetrics } from './probes.ts';
import { serverViewerCount } from './server-count.ts';

const metrics = (viewers: number | null): ServerMetrics => ({
  at: 0,
  viewers,
  websocketConnections: null,
  producers: null,
  consumersByWorker: {},
  workerCpuSeconds: null,
  workerRssBytes: null,
  processCpuSeconds: null,
  processRssBytes: null,
  commentsTotal: null,
  commentsPerSecond: null,
  eventLoopLagP99Seconds: null,
  workerPids: [],
  nodeId: null,
});

describe('the server viewer count of a snapshot', () => {
  it('takes /metrics when it answered, whatever the streamer was last told', () => {
    expect(serverViewerCount({ metrics: metrics(290), announcedViewers: 288, nodes: null })).toEqual({ count: 290, source: 'metrics' });
  });

  it('with /metrics closed, falls back to the count announced before that snapshot, not a later one', () => {
    // The window ended with 290 announced; the probes pushed it to 300 afterwards. Each snapshot keeps its own.
    const windowEnd = { metrics: null, announcedViewers: 290, nodes: null };
    const afterProbes = { metrics: null, announcedViewers: 300, nodes: null };
    expect(serverViewerCount(windowEnd)).toEqual({ count: 290, source: 'announced' });
    expect(serverViewerCount(afterProbes)).toEqual({ count: 300, source: 'announced' });
  });

  it('says "not measured" (null) when neither was sampled', () => {
    expect(serverViewerCount({ metrics: null, announcedViewers: null, nodes: null })).toEqual({ count: null, source: null });
    expect(serverViewerCount({ metrics: metrics(null), announcedViewers: null, nodes: null })).toEqual({ count: null, source: null });
  });

  it('in a cluster prefers the announced count (nodes count an account once each)', () => {
    const nodes = [{ url: 'http://a', metrics: metrics(6) }];
    expect(serverViewerCount({ metrics: metrics(6), announcedViewers: 5, nodes })).toEqual({ count: 5, source: 'announced' });
    expect(serverViewerCount({ metrics: metrics(6), announcedViewers: null, nodes })).toEqual({ count: 6, source: 'metrics' });
  });
});
