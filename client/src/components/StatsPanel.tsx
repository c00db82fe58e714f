import { useEffect, useState } from 'preact/hooks';
import type { StreamStats } from '@redred/api/protocol';
import { restApi } from '../net/api.ts';
import { formatClock, formatDuration } from '../lib/format.ts';

const POLL_MS = 10_000;

/** Polls `/api/live/:id/stats` while the stream runs, once more when it ends. */
export function StatsPanel({ streamId, live }: { streamId: number; live: boolean }) {
  const [stats, setStats] = useState<StreamStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      try {
        const body = await restApi.stats(streamId);
        if (!cancelled) {
          setStats(body.stats);
          setError(null);
        }
      } catch (err) {
        if (!cancelled) setError(err instanceof Error ? err.message : 'stats unavailable');
      }
    };
    void load();
    if (!live) return () => {
      cancelled = true;
    };
    const timer = setInterval(() => void load(), POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [streamId, live]);

  return (
    <section class="card panel" aria-labelledby="stats-title" data-testid="stats-panel">
      <header class="panel__head">
        <h2 id="stats-title" class="panel__title">
          Stats
        </h2>
      </header>
      {error ? <p class="panel__note">{error}</p> : null}
      {stats ? (
        <>
          <dl class="stats">
            <Stat label="Watching" value={stats.viewers} testid="stat-viewers" />
            <Stat label="Peak" value={stats.peakViewers} testid="stat-peak" />
            <Stat label="Unique" value={stats.uniqueViewers} testid="stat-unique" />
            <Stat label="Average" value={Math.round(stats.averageViewers * 10) / 10} testid="stat-average" />
            <Stat label="Comments" value={stats.commentsCount} testid="stat-comments" />
            <Stat label="Duration" value={formatDuration(stats.durationMs)} testid="stat-duration" />
          </dl>
          <ViewersChart series={stats.series} />
        </>
      ) : error ? null : (
        <p class="panel__note">Loading…</p>
      )}
    </section>
  );
}

function Stat({ label, value, testid }: { label: string; value: number | string; testid: string }) {
  return (
    <div class="stat">
      <dt class="stat__label">{label}</dt>
      <dd class="stat__value" data-testid={testid}>
        {value}
      </dd>
    </div>
  );
}

const W = 600;
const H = 180;
const PAD = { top: 12, right: 12, bottom: 26, left: 36 };

/** A step chart of viewers over time: the count holds until the next sample. */
export function ViewersChart({ series }: { series: { at: number; viewers: number }[] }) {
  if (series.length === 0) {
    return <p class="panel__note">The viewers chart starts once the stream is live.</p>;
  }
  const points = series.length === 1 ? [series[0]!, { at: series[0]!.at + 1000, viewers: series[0]!.viewers }] : series;
  const t0 = points[0]!.at;
  const t1 = points[points.length - 1]!.at;
  const peak = Math.max(1, ...points.map((p) => p.viewers));
  const yMax = peak <= 4 ? peak + 1 : Math.ceil((peak * 1.15) / 5) * 5;
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / yMax) * (H - PAD.top - PAD.bottom);
  let line = `M${x(points[0]!.at).toFixed(1)},${y(points[0]!.viewers).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    line += ` H${x(points[i]!.at).toFixed(1)} V${y(points[i]!.viewers).toFixed(1)}`;
  }
  const area = `${line} V${y(0).toFixed(1)} H${x(t0).toFixed(1)} Z`;
  const ticks = [...new Set([0, Math.round(yMax / 2), yMax])];

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title chart-desc" data-testid="viewers-chart" data-points={series.length}>
        <title id="chart-title">Viewers over time</title>
        <desc id="chart-desc">
          {`From ${formatClock(t0)} to ${formatClock(t1)}, peak ${peak} viewer${peak === 1 ? '' : 's'}, ${series.length} sample${series.length === 1 ? '' : 's'}.`}
        </desc>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} class="chart__grid" />
            <text x={PAD.left - 8} y={y(t) + 4} class="chart__label" text-anchor="end">
              {t}
            </text>
          </g>
        ))}
        <path d={area} class="chart__area" />
        <path d={line} class="chart__line" />
        <text x={PAD.left} y={H - 6} class="chart__label">
          {formatClock(t0)}
        </text>
        <text x={W - PAD.right} y={H - 6} class="chart__label" text-anchor="end">
          {formatClock(t1)}
        </text>
      </svg>
      <figcaption class="visually-hidden">Viewers over time</figcaption>
    </figure>
  );
}
