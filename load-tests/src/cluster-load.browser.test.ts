import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeCluster, startNodeProcess, TEST_METRICS_TOKEN, type ClusterNodeProcess } from '../../api/src/testing/cluster.ts';
import { startClusterFront, type ClusterFront } from '../../api/src/testing/deploy-servers.ts';
import { defaultOptions, parseCli } from './options.ts';
import type { LoadReport } from './report.ts';
import { formatReport } from './report-lines.ts';
import { runLoadTest } from './run.ts';

// `npm run load` through the cluster's front (deploy/nginx-cluster.conf) with
// --nodes: the run reaches the nodes only through nginx, and reads each node's
// CPU from that node's own /metrics. Small on purpose, like the harness smoke test.
describeCluster('load test through the cluster front', (services) => {
  const nodes: ClusterNodeProcess[] = [];
  let front: ClusterFront;
  let outDir: string;
  let report: LoadReport;
  const log: string[] = [];

  const previousToken = process.env.METRICS_TOKEN;
  beforeAll(async () => {
    // The harness scrapes each node's /metrics with the token in its environment (probes.ts).
    process.env.METRICS_TOKEN = TEST_METRICS_TOKEN;
    const databaseUrl = services().postgres.url(await services().postgres.createDatabase());
    for (let i = 0; i < 3; i++) nodes.push(await startNodeProcess(services(), databaseUrl, `l${process.pid}`, i));
    front = await startClusterFront([nodes[0]!.port, nodes[1]!.port, nodes[2]!.port]);
    outDir = mkdtempSync(join(tmpdir(), 'redred-load-'));
    report = await runLoadTest(
      defaultOptions({
        url: front.url,
        nodes: nodes.map((n) => n.url),
        viewers: 3,
        chatters: 6,
        rate: 6,
        durationS: 7,
        warmupS: 1,
        baselineS: 2,
        settleS: 1,
        decrypt: 1,
        probes: 0,
        width: 960,
        height: 540,
        fps: 15,
        videoKbps: 600,
        outDir,
        quiet: true,
      }),
      { log: (l) => log.push(l), progress: (l) => log.push(l) },
    );
  }, 180_000);

  afterAll(async () => {
    if (previousToken === undefined) delete process.env.METRICS_TOKEN;
    else process.env.METRICS_TOKEN = previousToken;
    await front?.close();
    await Promise.all(nodes.map((n) => n.process.stop()));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('takes the front as --url and the nodes as --nodes', () => {
    const parsed = parseCli(['--url', 'https://live.example.com', '--nodes', 'http://10.0.0.11:8080, http://10.0.0.12:8080']);
    expect(parsed !== 'help' && parsed.nodes).toEqual(['http://10.0.0.11:8080', 'http://10.0.0.12:8080']);
    expect(() => parseCli(['--nodes', 'ftp://x'])).toThrow(/--nodes/);
  });

  it('reports each node’s CPU from its own /metrics, and totals that add up', () => {
    const main = report.steps[0]!;
    expect(main.connected, log.join('\n')).toBe(3);
    const perNode = main.server.perNode;
    expect(perNode.map((n) => n.node)).toEqual(['node-a', 'node-b', 'node-c']);
    for (const n of perNode) {
      expect(n.answered).toBe(true);
      expect(n.nodeCpuPct).toBeGreaterThan(0);
      expect(n.workersCpuPct).not.toBeNull();
    }
    expect(main.server.nodeCpuPct).toBeCloseTo(perNode.reduce((a, n) => a + n.nodeCpuPct!, 0), 0);
    // Sockets were spread by the front: the nodes' counts add up to every socket of the run.
    expect(perNode.reduce((a, n) => a + n.websocketConnections!, 0)).toBe(main.server.websocketConnections);
    expect(perNode.filter((n) => n.websocketConnections! > 0).length).toBeGreaterThan(1);
    // The stream's viewer count (people across nodes) agrees with what the run connected.
    expect(report.checks.every((c) => c.ok), formatReport(report)).toBe(true);
  });

  it('delivers every chat message to every chatter across the nodes, none lost or repeated', () => {
    const c = report.steps[0]!.chat!;
    expect(c.acked).toBeGreaterThan(5);
    expect(c.lost).toBe(0);
    expect(c.duplicates).toBe(0);
    expect(c.delivered).toBe(c.acked * c.receivers);
  });
});
