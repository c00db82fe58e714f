import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeCluster, startNodeProcess, type ClusterNodeProcess } from '../../api/src/testing/cluster.ts';
import { startClusterFront, type ClusterFront } from '../../api/src/testing/deploy-servers.ts';
import { bounded } from '../../api/src/testing/process.ts';
import { api, registerUser } from '../../api/src/testing/server.ts';
import { defaultOptions } from './options.ts';
import { Streamer, uploadKbps } from './streamer.ts';
import { describeLayers, encoderStateDiffers, unsteadyReasons, uploadPerEncodedByte, type UploadWindow } from './upload-window.ts';
import { LoadViewer } from './viewer.ts';

// Three real node processes on 127.0.0.1 behind nginx (deploy/nginx-cluster.conf),
// sharing a PostgreSQL and a Redis the test starts: a Chromium streamer on node A,
// werift viewers that decrypt SRTP and check VP8 frames on the other nodes, and
// the failures of issue 17 — an edge node killed, then the origin.

const log: string[] = [];

/**
 * A viewer that keeps watching, as the web client does: when its socket drops
 * or the stream's producer goes away, it joins again through the front (and
 * waits there for the streamer if there is none yet).
 */
class Watcher {
  readonly label: string;
  frames = 0;
  /** Joins after the first, and why. */
  readonly rejoins: string[] = [];
  #viewer: LoadViewer | null = null;
  #waiters: { after: number; resolve: (at: number) => void }[] = [];
  #rejoinWaiters: ((why: string) => void)[] = [];
  #frontUrl: string;
  #closed = false;

  /** `frontUrl`: the stream socket's URL through the front, for every join after the first. */
  constructor(label: string, firstUrl: string, frontUrl: string) {
    this.label = label;
    this.#frontUrl = frontUrl;
    this.#join(firstUrl);
  }

  /** Resolves at the first complete, decrypted, valid frame received after `after` (performance.now()). */
  frameAfter(after: number): Promise<number> {
    return new Promise((resolve) => this.#waiters.push({ after, resolve }));
  }

  /** Resolves with the reason of the next rejoin. */
  nextRejoin(): Promise<string> {
    return new Promise((resolve) => this.#rejoinWaiters.push(resolve));
  }

  get decrypt() {
    return this.#viewer?.result().decrypt ?? null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#viewer?.close();
  }

  #join(url: string): void {
    const viewer = new LoadViewer({
      index: 0,
      wsUrl: url,
      mode: 'decrypt',
      localAddress: '127.0.0.1',
      layer: null,
      joinTimeoutMs: 120_000,
      onFrame: () => {
        this.frames++;
        const now = performance.now();
        const due = this.#waiters.filter((w) => w.after <= now);
        this.#waiters = this.#waiters.filter((w) => w.after > now);
        for (const w of due) w.resolve(now);
      },
      onMessage: (msg) => {
        if (msg.type === 'producer_removed') this.#rejoin(viewer, 'producer_removed');
      },
      onClose: (code) => this.#rejoin(viewer, `socket closed (${code})`),
    });
    this.#viewer = viewer;
    void viewer.join().then(() => {
      const r = viewer.result();
      log.push(`${this.label}: joined ${url} ${r.ok ? 'ok' : `FAILED: ${r.error}`} (phases ${JSON.stringify(r.phases)})`);
    });
  }

  #rejoin(from: LoadViewer, why: string): void {
    if (this.#closed || this.#viewer !== from) return;
    this.rejoins.push(why);
    for (const w of this.#rejoinWaiters.splice(0)) w(why);
    log.push(`${this.label}: ${why}; joining again through the front`);
    void from.close();
    this.#join(this.#frontUrl);
  }
}

describeCluster('cluster mode: three node processes behind nginx', (services) => {
  let nodes: ClusterNodeProcess[] = [];
  let front: ClusterFront;
  let streamId: number;
  let token: string;
  let streamer: Streamer | null = null;
  const watchers: Watcher[] = [];
  const opts = defaultOptions();

  const frontWs = () => `${front.url.replace(/^http/, 'ws')}/ws/live/${streamId}`;
  const startStreamer = (wsUrl: string) =>
    Streamer.start({ wsUrl, token, width: 960, height: 540, fps: 15, videoKbps: 600, audio: false, chromiumPath: opts.chromiumPath, publisher: { kind: 'mediasoup' }, log: (l) => log.push(l) });

  beforeAll(async () => {
    const databaseUrl = services().postgres.url(await services().postgres.createDatabase());
    const name = `p${process.pid}`;
    // One after the other: the first migrates the database.
    for (let i = 0; i < 3; i++) nodes.push(await startNodeProcess(services(), databaseUrl, name, i));
    front = await startClusterFront([nodes[0]!.port, nodes[1]!.port, nodes[2]!.port]);
    const user = await registerUser(front.url, `streamer${process.pid}`);
    token = user.token;
    const created = await api(front.url, 'POST', '/api/live/create/', { token, body: { title: 'cluster' } });
    streamId = created.body.stream.id;
    streamer = await startStreamer(nodes[0]!.wsUrl(streamId));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.close()));
    await streamer?.close();
    await front?.close();
    await Promise.all(nodes.map((n) => n.process.stop()));
    if (log.length > 0) console.log(log.join('\n'));
  });

  it('serves the REST API and the stream socket through the front, and refuses node-to-node paths there', async () => {
    expect((await api(front.url, 'GET', '/health')).body).toMatchObject({ status: 'ok', bus: true });
    expect((await api(front.url, 'GET', `/api/live/${streamId}/stats`)).body.stats.status).toBe('live');
    const internal = await fetch(`${front.url}/internal/cluster/streams/${streamId}/pipes`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(internal.status).toBe(404);
    expect(await internal.text()).not.toContain('cluster_forbidden');
  });

  it('lets viewers on nodes B and C decode the streamer’s frames from node A, its upload the same at 1 and 10 viewers', { timeout: 280_000 }, async () => {
    const s = streamer!;
    const first = new Watcher('viewer B0', nodes[1]!.wsUrl(streamId), frontWs());
    watchers.push(first);
    await bounded(first.frameAfter(0), 30_000, 'first frame on node B');
    // Why two 3 s windows agreeing within 2 % once gave a ratio of 0.950: the upload over a few
    // seconds is the encoder's output, and it moves by more than 5 % whenever the encoder does
    // anything but encode at one rate — its rate ramp in the first seconds after publishing (the
    // 1-viewer figure was taken a few seconds after the streamer started), a keyframe (every join
    // and layer switch asks for one; the rate controller pays it back over the next seconds), a
    // bandwidth estimate that moved its target, a CPU-limited encoder on this shared box. So, as
    // load-tests does (warm-up, steady window, encoder state compared): the first 8 s of encoding
    // are not measured; a figure is two consecutive 4 s windows with no keyframe, no limitation, the
    // same layers and resolutions and one total target; and the 10-viewer figure only once the
    // encoder is in the 1-viewer figure's state. Even then the encoder's output at one target
    // drifts by a few % while its rate control settles (top layer 479 → 500 kbps at 600 kbps,
    // 20 s apart): what is compared is the upload per byte of fresh media the encoder produced
    // in each window (uploadPerEncodedByte), which is what the SFU can change — retransmissions,
    // RTCP, padding; keyframes it asks for keep every window from counting, and fail the test.
    const WINDOW_MS = 4000;
    const WARMUP_FRAMES = 8 * 15;
    const WINDOWS = 20;
    const steadyWindow = async (what: string, reference?: UploadWindow): Promise<UploadWindow> => {
      let a = await s.sample();
      /** The previous window, when it was at rest: with this one, they make the figure. */
      let atRest: UploadWindow | null = null;
      const refused: string[] = [];
      for (let i = 0; i < WINDOWS; i++) {
        // The window's length (a measurement period), not a wait for something to happen.
        await new Promise((r) => setTimeout(r, WINDOW_MS));
        const b = await s.sample();
        const w = { a, b };
        const warm = a.layers.length > 0 && Math.min(...a.layers.map((l) => l.framesEncoded)) >= WARMUP_FRAMES;
        const reasons = [...(warm ? [] : ['encoder warming up']), ...unsteadyReasons(w), ...encoderStateDiffers(reference ?? atRest ?? w, w)];
        if (reasons.length > 0) {
          refused.push(reasons.join(', '));
          log.push(`${what}: window not taken (${uploadKbps(a, b).transport.toFixed(0)} kbps): ${reasons.join(', ')}`);
          atRest = null;
        } else if (atRest) {
          return { a: atRest.a, b };
        } else {
          atRest = w;
        }
        a = b;
      }
      throw new Error(`${what}: the encoder was not at rest for two windows in ${(WINDOWS * WINDOW_MS) / 1000} s; last: ${refused.slice(-3).join(' | ')}`);
    };
    const w1 = await steadyWindow('1 viewer');
    // Nine more: four on B, three on C, two on A (the origin itself).
    const more = [1, 1, 1, 1, 2, 2, 2, 0, 0].map((n, i) => new Watcher(`viewer ${'ABC'[n]}${i + 1}`, nodes[n]!.wsUrl(streamId), frontWs()));
    watchers.push(...more);
    const started = performance.now();
    await bounded(Promise.all(more.map((w) => w.frameAfter(0))), 60_000, 'first frames of the nine');
    log.push(`nine more viewers decoding within ${(performance.now() - started).toFixed(0)} ms`);
    const w10 = await steadyWindow('10 viewers', w1);
    const at1 = uploadKbps(w1.a, w1.b).transport;
    const at10 = uploadKbps(w10.a, w10.b).transport;
    const [perByte1, perByte10] = [uploadPerEncodedByte(w1), uploadPerEncodedByte(w10)];
    log.push(`streamer upload: ${at1.toFixed(0)} kbps at 1 viewer, ${at10.toFixed(0)} kbps at 10 over 3 nodes (ratio ${(at10 / at1).toFixed(3)})`);
    log.push(`  per byte the encoder produced: ${perByte1.toFixed(4)} at 1 viewer, ${perByte10.toFixed(4)} at 10 (ratio ${(perByte10 / perByte1).toFixed(3)})`);
    log.push(`  encoder at 1 viewer:   ${describeLayers(w1)}`);
    log.push(`  encoder at 10 viewers: ${describeLayers(w10)}`);
    expect(Math.abs(perByte10 / perByte1 - 1)).toBeLessThan(0.05);
    for (const w of [first, ...more]) {
      expect(w.decrypt?.invalidPackets).toBe(0);
      expect(w.decrypt?.keyframesValid).toBeGreaterThan(0);
      expect(w.decrypt?.width).toBe(960);
    }
  });

  it('puts the viewers of a node killed with -9 back to watching through the front within 10 s', async () => {
    const onB = watchers.filter((w) => w.label.startsWith('viewer B'));
    expect(onB.length).toBe(5);
    const killedAt = performance.now();
    await nodes[1]!.process.kill();
    const back = await bounded(Promise.all(onB.map((w) => w.frameAfter(killedAt))), 10_000, 'node B viewers watching again');
    log.push(`node B killed: its 5 viewers watching again after ${(Math.max(...back) - killedAt).toFixed(0)} ms (slowest)`);
    for (const w of onB) expect(w.rejoins[0]).toMatch(/socket closed/);
    // The others never stopped.
    const others = watchers.filter((w) => !w.label.startsWith('viewer B'));
    await bounded(Promise.all(others.map((w) => w.frameAfter(performance.now()))), 10_000, 'the other viewers');
    expect(others.every((w) => w.rejoins.length === 0)).toBe(true);
  });

  it('shows viewers the stream reconnecting when the origin is killed, and resumes when the streamer publishes on another node', async () => {
    // Viewers of node C see the producer go (the origin is dead); viewers of A lose their socket.
    const onC = watchers.filter((w) => w.label.startsWith('viewer C'));
    const told = onC.map((w) => w.nextRejoin());
    const killedAt = performance.now();
    await nodes[0]!.process.kill();
    await streamer?.close();
    streamer = null;
    expect(await bounded(Promise.all(told), 10_000, 'producer_removed on node C')).toEqual(onC.map(() => 'producer_removed'));
    log.push(`origin killed: node C's viewers told the producer is gone after ${(performance.now() - killedAt).toFixed(0)} ms`);
    const republishedAt = performance.now();
    streamer = await startStreamer(frontWs());
    const back = await bounded(Promise.all(watchers.map((w) => w.frameAfter(republishedAt))), 30_000, 'every viewer watching the republished stream');
    log.push(`streamer republished through the front: all ${watchers.length} viewers watching again after ${(Math.max(...back) - republishedAt).toFixed(0)} ms (slowest)`);
    expect((await api(front.url, 'GET', `/api/live/${streamId}/stats`)).body.stats.status).toBe('live');
  });
});
