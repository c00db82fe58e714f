import { useEffect, useState } from 'preact/hooks';
import { restApi } from '../../net/api.ts';
import { CAMERA_ENCODINGS } from '../../net/media.ts';
import type { StudioBroadcast } from './studio-broadcast.ts';
import { autoBudget, BUDGET_CHOICES, limitationWarning, planLayers, RESOLUTION_CHOICES, type SentLayer } from './upload-budget.ts';

const STATS_MS = 1000;
/** An uplink probe: 1 MiB, enough to fill a home uplink for a moment. */
const PROBE_BYTES = 1024 * 1024;

type Choice = 'standard' | 'auto' | `${(typeof BUDGET_CHOICES)[number]}`;

const mbps = (bps: number) => `${(bps / 1e6).toFixed(bps < 1e6 ? 2 : 1)} Mbps`;

/** Random bytes, so nothing on the way can compress the probe. */
function probeBlob(): Blob {
  const bytes = new Uint8Array(PROBE_BYTES);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return new Blob([bytes]);
}

/**
 * The upload budget (and resolution) the camera's simulcast layers follow, and
 * what the browser really sends: the live upload rate, the layers with their
 * size and frame rate, and a warning when bandwidth or CPU hold the encoder back.
 */
export function UploadPanel({ broadcast, captureHeight }: { broadcast: StudioBroadcast; captureHeight: number }) {
  const [choice, setChoice] = useState<Choice>('standard');
  const [resolution, setResolution] = useState<number>(720);
  const [measured, setMeasured] = useState<number | null>(null);
  const [probing, setProbing] = useState(false);
  const [probeError, setProbeError] = useState<string | null>(null);
  const [sent, setSent] = useState<{ bps: number; layers: SentLayer[] } | null>(null);

  const budget = choice === 'standard' ? null : choice === 'auto' ? (measured === null ? null : autoBudget(measured)) : Number(choice);

  useEffect(() => {
    if (choice === 'standard') {
      broadcast.setCameraEncodings(CAMERA_ENCODINGS);
      return;
    }
    if (budget === null) return;
    const plan = planLayers(budget, captureHeight, resolution);
    broadcast.setCameraEncodings(plan.map((l) => ({ scaleResolutionDownBy: l.scaleResolutionDownBy, maxBitrate: l.maxBitrate })));
  }, [broadcast, choice, budget, resolution, captureHeight]);

  const probe = async () => {
    setProbing(true);
    setProbeError(null);
    try {
      setMeasured((await restApi.probeUpload(probeBlob())).bitsPerSecond);
    } catch (err) {
      setProbeError(err instanceof Error ? err.message : 'the uplink could not be measured');
    } finally {
      setProbing(false);
    }
  };

  useEffect(() => {
    if (choice === 'auto' && measured === null && !probing) void probe();
  }, [choice]);

  // What the encoder really does, from the browser's own statistics.
  const on = broadcast.state.value === 'on';
  useEffect(() => {
    if (!on) {
      setSent(null);
      return;
    }
    let previous = new Map<string, { bytes: number; at: number }>();
    const timer = setInterval(async () => {
      const report = await broadcast.publisher?.cameraStats();
      if (!report) return;
      const next = new Map<string, { bytes: number; at: number }>();
      const layers: SentLayer[] = [];
      report.forEach((s: Record<string, unknown>) => {
        if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
        const rid = String(s.rid ?? '');
        const bytes = Number(s.bytesSent ?? 0);
        const at = Number(s.timestamp ?? performance.now());
        const before = previous.get(rid);
        next.set(rid, { bytes, at });
        const bps = before && at > before.at ? ((bytes - before.bytes) * 8 * 1000) / (at - before.at) : 0;
        // A layer the encoder paused (too little bandwidth) sends no frames: it is not on air.
        if (Number(s.frameWidth ?? 0) === 0) return;
        layers.push({ rid, width: Number(s.frameWidth), height: Number(s.frameHeight ?? 0), fps: Math.round(Number(s.framesPerSecond ?? 0)), bps, limitation: String(s.qualityLimitationReason ?? 'none') });
      });
      previous = next;
      layers.sort((a, b) => a.width - b.width);
      setSent({ bps: layers.reduce((sum, l) => sum + l.bps, 0), layers });
    }, STATS_MS);
    return () => clearInterval(timer);
  }, [broadcast, on]);

  const warning = sent ? limitationWarning(sent.layers) : null;
  const plan = budget === null ? null : planLayers(budget, captureHeight, resolution);

  return (
    <section class="card panel stack" aria-labelledby="upload-title" data-testid="upload-panel">
      <header class="panel__head">
        <h2 id="upload-title" class="panel__title">
          Upload
        </h2>
      </header>
      <div class="row">
        <label class="field__label" for="upload-budget">
          Upload budget
        </label>
        <select id="upload-budget" class="input input--sm" data-testid="upload-budget" value={choice} onChange={(e) => setChoice(e.currentTarget.value as Choice)}>
          <option value="standard">Standard (3 layers, up to 1.9 Mbps)</option>
          <option value="auto">Auto (measure my upload)</option>
          {BUDGET_CHOICES.map((bps) => (
            <option key={bps} value={String(bps)}>
              {mbps(bps)}
            </option>
          ))}
        </select>
        <label class="field__label" for="upload-resolution">
          Resolution
        </label>
        <select id="upload-resolution" class="input input--sm" data-testid="upload-resolution" value={String(resolution)} disabled={choice === 'standard'} onChange={(e) => setResolution(Number(e.currentTarget.value))}>
          {RESOLUTION_CHOICES.map((h) => (
            <option key={h} value={String(h)}>
              {h}p
            </option>
          ))}
        </select>
      </div>
      {choice === 'auto' ? (
        <p class="muted small" data-testid="probe-result">
          {probing ? 'Measuring your upload…' : probeError ? `Could not measure: ${probeError}` : measured !== null ? `Your upload: ${mbps(measured)}; using ${mbps(autoBudget(measured))}.` : null}{' '}
          <button type="button" class="btn btn--sm btn--ghost" disabled={probing} onClick={() => void probe()}>
            Measure again
          </button>
        </p>
      ) : null}
      {plan ? (
        <p class="muted small" data-testid="upload-plan">
          {plan.length === 1 ? 'One layer' : `${plan.length} layers`}: {plan.map((l) => `${l.height}p ≤ ${Math.round(l.maxBitrate / 1000)} kbps`).join(', ')}
        </p>
      ) : null}
      {sent ? (
        <div data-testid="upload-live" data-bps={Math.round(sent.bps)} data-layers={sent.layers.length}>
          <p>
            Sending <strong data-testid="upload-kbps">{Math.round(sent.bps / 1000)} kbps</strong> of video in {sent.layers.length} {sent.layers.length === 1 ? 'layer' : 'layers'}
          </p>
          <ul class="muted small">
            {sent.layers.map((l) => (
              <li key={l.rid} data-testid="upload-layer" data-width={l.width}>
                {l.width}×{l.height} at {l.fps} fps, {Math.round(l.bps / 1000)} kbps
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p class="muted small">Live figures show once you are on air.</p>
      )}
      {warning ? (
        <p class="banner banner--warn" role="status" data-testid="upload-warning">
          {warning}
        </p>
      ) : null}
    </section>
  );
}
