// The report's picture: viewers, bitrate and CPU over time, one panel each.
import type { LoadReport } from './report.ts';

interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

/** 1, 2, 2.5 or 5 × 10^k at or above v. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(g: { x: number; y: number; w: number; h: number; tMax: number }, title: string, t: number[], series: Series[], unit: string): string {
  const { x, y, w, h, tMax } = g;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const max = niceCeil(Math.max(0, ...all));
  const px = (tv: number) => x + (tv / tMax) * w;
  const py = (v: number) => y + h - (Math.min(v, max) / max) * h;
  const parts = [`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`, `<text x="${x}" y="${y - 6}" font-size="13" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    parts.push(`<line x1="${x}" x2="${x + w}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${x - 4}" y="${py(v) + 4}" font-size="10" text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`);
  }
  parts.push(`<text x="${x - 4}" y="${y - 6}" font-size="10" text-anchor="end" fill="#666">${esc(unit)}</text>`);
  const step = niceCeil(tMax / 10);
  for (let tv = 0; tv <= tMax; tv += step) parts.push(`<text x="${px(tv)}" y="${y + h + 12}" font-size="9" text-anchor="middle" fill="#666">${tv}</text>`);
  series.forEach((s, si) => {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${px(t[i]!).toFixed(1)},${py(v).toFixed(1)}`;
      pen = true;
    });
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    parts.push(`<rect x="${x + w + 12}" y="${y + si * 16}" width="10" height="10" fill="${s.color}"/><text x="${x + w + 26}" y="${y + si * 16 + 9}" font-size="11">${esc(s.name)}</text>`);
  });
  return parts.join('');
}

/** Viewers, bitrate, CPU (and chat, when there was chat) over time; phases shaded and named. */
export function renderSvg(r: LoadReport): string {
  const rows = r.timeline;
  const t = rows.map((row) => row.t);
  const tMax = Math.max(1, ...t);
  const X = 60;
  const PW = 640;
  const PH = 150;
  const GAP = 55;
  const hasChat = rows.some((row) => row.chatSentPerS !== null);
  const panels: ((y: number) => string)[] = [
    (y) =>
      panel({ x: X, y, w: PW, h: PH, tMax }, 'Viewers', t, [
        { name: 'connected (harness)', color: '#c0392b', values: rows.map((x) => x.viewers) },
        { name: 'counted by server', color: '#2980b9', values: rows.map((x) => x.serverViewers) },
      ], 'viewers'),
    (y) =>
      panel({ x: X, y, w: PW, h: PH, tMax }, 'Bitrate', t, [
        { name: 'streamer upload', color: '#8e44ad', values: rows.map((x) => (x.uploadKbps === null ? null : x.uploadKbps / 1000)) },
        { name: 'received per viewer', color: '#27ae60', values: rows.map((x) => (x.recvKbpsPerViewer === null ? null : x.recvKbpsPerViewer / 1000)) },
      ], 'Mbit/s'),
    (y) =>
      panel({ x: X, y, w: PW, h: PH, tMax }, 'CPU (% of one core)', t, [
        { name: 'server node', color: '#2980b9', values: rows.map((x) => x.serverCpuPct) },
        { name: 'mediasoup workers', color: '#16a085', values: rows.map((x) => x.workersCpuPct) },
        { name: 'viewers+chatters', color: '#c0392b', values: rows.map((x) => x.generatorCpuPct) },
        { name: 'chromium', color: '#f39c12', values: rows.map((x) => x.chromiumCpuPct) },
        { name: 'whole box', color: '#555', values: rows.map((x) => x.boxCpuPct) },
      ], '%'),
  ];
  if (hasChat) {
    panels.push((y) =>
      panel({ x: X, y, w: PW, h: PH, tMax }, 'Chat', t, [
        { name: 'sent / s', color: '#d35400', values: rows.map((x) => x.chatSentPerS) },
        { name: 'deliveries / s ÷ 1000', color: '#2c3e50', values: rows.map((x) => (x.chatDeliveredPerS === null ? null : x.chatDeliveredPerS / 1000)) },
      ], 'per s'),
    );
  }
  const top = 70;
  const H = top + panels.length * (PH + GAP) + 10;
  const bands: string[] = [];
  let from = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || rows[i]!.phase !== rows[from]!.phase) {
      const x0 = X + (rows[from]!.t / tMax) * PW;
      const x1 = X + (rows[Math.min(i, rows.length - 1)]!.t / tMax) * PW;
      const label = rows[from]!.phase;
      bands.push(`<rect x="${x0}" y="${top - 26}" width="${Math.max(0, x1 - x0)}" height="${H - top}" fill="${bands.length % 2 ? '#f3f3f3' : '#fafafa'}"/>`);
      // Only label bands wide enough for their name.
      if (x1 - x0 >= label.length * 5.5) bands.push(`<text x="${x0 + 2}" y="${top - 16}" font-size="9" fill="#888">${esc(label)}</text>`);
      from = i;
    }
  }
  const title = `RED-RED Live load test ${r.tag}: ${r.steps.map((s) => `${s.viewersTarget} viewers`).join(', ')}${r.steps.some((s) => s.chat) ? ', chat' : ''} — upload ratio N/1 ${r.streamer?.uploadRatio == null ? '–' : r.streamer.uploadRatio.toFixed(3)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${H}" viewBox="0 0 900 ${H}" font-family="sans-serif">`,
    `<rect width="900" height="${H}" fill="#fff"/>`,
    `<text x="${X}" y="20" font-size="14">${esc(title)}</text>`,
    `<text x="${X}" y="${top - 30}" font-size="10" fill="#666">x: seconds since the streamer started</text>`,
    ...bands,
    ...panels.map((p, i) => p(top + i * (PH + GAP))),
    '</svg>',
  ].join('\n');
}

