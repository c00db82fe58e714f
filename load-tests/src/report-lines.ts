// The report as text: one block of lines per step, the capacity table, the checks.
import { delayLines } from './report-delay.ts';
import type { LoadReport } from './report.ts';
import type { StepSummary } from './report-step.ts';
import type { Summary } from './stats.ts';

const n0 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(0));
const n1 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));
const n2 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(2));
const mb = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (v / 1048576).toFixed(1));
const pcts = (s: Summary, f = n0) => `p50 ${f(s.p50)} / p95 ${f(s.p95)} / p99 ${f(s.p99)}`;

function stepLines(s: StepSummary): string[] {
  const lines =
    s.viewersTarget === 0
      ? []
      : [
          `viewers                 ${s.connected}/${s.viewersTarget} connected${s.failed ? `, ${s.failed} failed` : ''}${Object.keys(s.failures).length ? ` (${Object.entries(s.failures).map(([e, k]) => `${k}× ${e}`).join('; ')})` : ''}`,
          `window                  ${n1(s.windowS)} s`,
          `join time (ms)          ${pcts(s.joinMs)}   (p50 milestones: ${Object.entries(s.joinPhasesP50).map(([k, v]) => `${k} ${v}`).join(', ')})`,
          `time to first frame (ms) ${pcts(s.ttffMs)}   no frame: ${s.noFrame}`,
          ...(s.probeTtffMs.count || s.probeJoinMs.count
            ? [`newcomers (probes), ms  TTFF ${pcts(s.probeTtffMs)}   join p50 ${n0(s.probeJoinMs.p50)}   (${s.probeTtffMs.count} probes joining one by one into the steady crowd)`]
            : []),
          `time to 5 frames (ms)   ${pcts(s.playingMs)}   stalled >1 s after first frame: ${s.stalled}`,
          `received kbps/viewer    p50 ${n0(s.recvKbps.p50)} / p5 ${n0(s.recvKbps.p5)}   fps p50 ${n1(s.fps.p50)} / p5 ${n1(s.fps.p5)}   packets/s p50 ${n0(s.pktPerS.p50)}`,
          `packet loss %           p50 ${n2(s.lossPct.p50)} / p95 ${n2(s.lossPct.p95)} / max ${n2(s.lossPct.max)}   all viewers ${n2(s.aggregateLossPct)}`,
          `decrypting viewers      ${s.decrypt.viewers}: ${s.decrypt.framesValid} valid VP8 frames, ${s.decrypt.keyframesValid} keyframes (${Object.entries(s.decrypt.sizes).map(([k, c]) => `${k}×${c}`).join(', ') || '–'}), ${s.decrypt.invalidPackets} invalid packets, decrypted/wire ${s.decrypt.decryptedRatio === null ? '–' : (s.decrypt.decryptedRatio * 100).toFixed(2) + ' %'}`,
        ];
  lines.push(...delayLines(s));
  const fb = s.feedback;
  if (s.viewersTarget > 0) {
    const r = fb.perViewerPerS;
    lines.push(
      `RTCP like browsers      ${fb.viewers} viewers (${n1(fb.sharePct)} %)${r ? `, each per s: RR ${n1(r.rr)}, NACK ${n1(r.nack)}, transport-cc ${n1(r.twcc)}, REMB ${n1(r.remb)}, PLI ${n1(r.pli)}; received kbps p50 ${n0(fb.kbpsP50)}` : ''}   receive path: ${Object.entries(fb.receivePaths).map(([k, c]) => `${k} ${c}`).join(', ')}`,
    );
  }
  if (s.upload) {
    lines.push(
      `streamer upload kbps    ${n0(s.upload.transportKbps)} (video ${n0(s.upload.videoKbps)}, audio ${n0(s.upload.audioKbps)}; layers ${s.upload.layers.map((l) => `${l.rid} ${l.frameWidth}x${l.frameHeight} ${n0(s.upload!.layerKbps[l.rid])} kbps @${n1(s.upload!.layerFps[l.rid])} fps${l.qualityLimitationReason && l.qualityLimitationReason !== 'none' ? ` limited:${l.qualityLimitationReason}` : ''}`).join(', ')})`,
    );
  }
  const sv = s.server;
  lines.push(
    `server CPU % of a core  node ${n0(sv.nodeCpuPct)} + mediasoup ${n0(sv.workersCpuPct)} = ${n0(sv.totalCpuPct)}   per viewer ${n2(sv.cpuPerViewerPct)}   (${sv.source}${sv.inProcess ? ', server in this process: node CPU includes the harness' : ''})`,
    `server RSS MiB          ${mb(sv.rssBytes)} (before viewers ${mb(sv.rssBeforeBytes)}; per viewer ${sv.rssPerViewerBytes === null ? '–' : (sv.rssPerViewerBytes / 1024).toFixed(0) + ' KiB'})`,
    `server counts           viewers ${sv.viewersCounted === null ? 'not measured' : `${sv.viewersCounted} (${sv.viewersCountSource})`} (expected ${sv.viewersExpected} at the window's end)   sockets ${n0(sv.websocketConnections)}   consumers/worker ${Object.entries(sv.consumersByWorker).map(([w, c]) => `#${w}:${c}`).join(' ') || '–'}   loop lag p99 ${n1(sv.eventLoopLagP99Ms)} ms`,
    ...sv.perNode.map(
      (n) =>
        `  node ${n.node.padEnd(18)} ${n.answered ? `CPU % node ${n0(n.nodeCpuPct)} + mediasoup ${n0(n.workersCpuPct)} = ${n0(n.totalCpuPct)}   viewers ${n0(n.viewers)}   sockets ${n0(n.websocketConnections)}` : 'did not answer /metrics'}`,
    ),
    `generator CPU %         viewers+chatters+harness ${n0(s.generator.cpuPct)}   chromium ${n0(s.generator.chromiumPct)}   box ${n0(s.generator.boxPct)} of ${s.generator.boxCores ? s.generator.boxCores * 100 : '–'} (other processes ${n0(s.generator.otherPct)})`,
  );
  if (s.chat) {
    const c = s.chat;
    const rejected = Object.entries(c.rejected).map(([k, v]) => `${v}× ${k}`).join(', ');
    lines.push(
      `chat                    ${c.sockets} sockets (${c.connectFailed} failed, ${c.dropped} dropped${c.dropped ? `: ${Object.entries(c.dropReasons).map(([k, v]) => `${v}× ${k}`).join(', ')}` : ''}), sent ${c.sent}${c.skipped ? ` (${c.skipped} skipped: the generator fell behind)` : ''}, acked ${c.acked}, rejected ${rejected || 0}, unanswered ${c.unanswered}`,
      `chat ack (ms)           p50 ${n1(c.ack.p50)} / p99 ${n1(c.ack.p99)} / max ${n1(c.ack.max)}`,
      `chat delivery (ms)      p50 ${n1(c.delivery.p50)} / p99 ${n1(c.delivery.p99)} / max ${n1(c.delivery.max)}   to ${c.receivers} receivers`,
      `chat latency split (ms) send → server handles it p50 ${n1(c.toServer.p50)} / p99 ${n1(c.toServer.p99)};  server → receiver p50 ${n1(c.fromServer.p50)} / p99 ${n1(c.fromServer.p99)}   (server's createdAt, 1 ms resolution)`,
      `chat deliveries         ${c.delivered}/${c.expectedDeliveries} (lost ${c.lost}, duplicated ${c.duplicates}, delivered before ack ${c.deliveredUnacked}); send timer lag max ${n0(c.maxSendLagMs)} ms`,
    );
  }
  return lines;
}

export function formatReport(r: LoadReport): string {
  const out: string[] = [];
  out.push(`RED-RED Live load test ${r.tag}${r.label ? ` (${r.label})` : ''} — ${r.url} stream ${r.streamId}, ${r.box.cores} cores ${r.box.cpu}, load average ${r.box.loadAvg.toFixed(1)} at start`);
  const st = r.streamer;
  if (st) {
    out.push(
      `streamer: ${st.handler}, capture ${st.captured.width}x${st.captured.height}@${st.captured.frameRate}; upload at 1 viewer ${n0(st.uploadAt1Kbps)} kbps, at N ${n0(st.uploadAtNKbps)} kbps, ratio N/1 ${st.uploadRatio === null ? '–' : st.uploadRatio.toFixed(3)} (video only ${st.videoRatio === null ? '–' : st.videoRatio.toFixed(3)})${st.mediaResets ? `, ${st.mediaResets} media resets` : ''}`,
    );
    if (st.caveat) out.push(`  caveat: ${st.caveat}`);
  } else {
    out.push('streamer: none (--no-streamer)');
  }
  if (r.baseline) {
    out.push('', `— baseline (1 viewer) —`, ...stepLines(r.baseline));
  }
  for (const s of r.steps) out.push('', `— ${s.label === 'main' ? `${s.viewersTarget} viewers` : s.label} —`, ...stepLines(s));
  if (r.capacity) {
    out.push('', '— capacity search —');
    out.push('viewers | connected | newcomer TTFF p95 ms | ramp TTFF p95 ms | loss % (all) | kbps p50 | server CPU % | box CPU %');
    for (const s of r.steps) {
      out.push(
        `${String(s.viewersTarget).padStart(7)} | ${String(s.connected).padStart(9)} | ${n0(s.probeTtffMs.p95).padStart(20)} | ${n0(s.ttffMs.p95).padStart(16)} | ${n2(s.aggregateLossPct).padStart(12)} | ${n0(s.recvKbps.p50).padStart(8)} | ${n0(s.server.totalCpuPct).padStart(12)} | ${n0(s.generator.boxPct).padStart(9)}`,
      );
    }
    out.push(
      `last good: ${r.capacity.lastGood ?? 'none'} viewers${r.capacity.stoppedBy ? `; stopped at ${r.capacity.stoppedAt}: ${r.capacity.stoppedBy}` : '; never failed up to --max'}` +
        ` (criteria: loss > ${r.capacity.criteria.maxLossPct} %, newcomers' p95 TTFF > ${r.capacity.criteria.maxTtffP95Ms} ms, failed joins > ${r.capacity.criteria.maxFailedPct} %, kbps p50 < ${r.capacity.criteria.minKbpsRatio * 100} % of 1 viewer's)`,
    );
  }
  if (r.checks.length) {
    out.push('', '— consistency —');
    for (const c of r.checks) out.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  if (r.notes.length) out.push('', '— notes —', ...r.notes);
  return out.join('\n');
}
