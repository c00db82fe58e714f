import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config.ts';
import { OwnedProcess, freePort, requireBinary } from './owned-process.ts';

// The shipped files in deploy/, run for real: each is rendered with the test's
// ports and paths put in place of the documented ones, never kept as a second copy.

/** deploy/<file> with each `[from, to]` replaced; a `from` missing from the file fails, so the test follows the file. */
export function renderShipped(file: string, replacements: [from: string, to: string][]): string {
  let text = readFileSync(join(REPO_ROOT, 'deploy', file), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`deploy/${file} no longer contains "${from}": update the test's rendering`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** A self-signed certificate for `name` (and its key) in `dir`. */
export function selfSignedCertificate(dir: string, name: string): { cert: string; key: string } {
  requireBinary('openssl');
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert, key };
}

export interface ProxyServer {
  process: OwnedProcess;
  /** What the browser opens: https://<site>:<port> */
  origin: string;
  close(): Promise<void>;
}

/** deploy/Caddyfile for `site:port` → 127.0.0.1:`upstreamPort`, with Caddy's own CA (`tls internal`) instead of Let's Encrypt. */
export async function startCaddy(site: string, upstreamPort: number): Promise<ProxyServer> {
  const caddy = requireBinary('caddy');
  const port = await freePort();
  const httpPort = await freePort();
  const proc = new OwnedProcess('caddy');
  const siteBlock = renderShipped('Caddyfile', [
    ['live.example.com {', `${site}:${port} {\n\ttls internal`],
    ['reverse_proxy 127.0.0.1:8080', `reverse_proxy 127.0.0.1:${upstreamPort}`],
  ]);
  // Global options only for the test: no admin endpoint, no system trust store, state in the temp folder.
  const globals = `{\n\tadmin off\n\tskip_install_trust\n\thttp_port ${httpPort}\n\thttps_port ${port}\n\tauto_https disable_redirects\n\tstorage file_system {\n\t\troot ${join(proc.dir, 'storage')}\n\t}\n}\n\n`;
  writeFileSync(join(proc.dir, 'Caddyfile'), globals + siteBlock);
  await proc.start(caddy, ['run', '--config', 'Caddyfile', '--adapter', 'caddyfile'], {
    ready: /certificate obtained successfully/,
    env: { HOME: proc.dir, XDG_DATA_HOME: join(proc.dir, 'data'), XDG_CONFIG_HOME: join(proc.dir, 'config') },
  });
  return { process: proc, origin: `https://${site}:${port}`, close: () => proc.close() };
}

/** deploy/nginx.conf as the site of a minimal nginx main config, with a self-signed certificate for `site`. */
export async function startNginx(site: string, upstreamPort: number): Promise<ProxyServer> {
  const port = await freePort();
  const httpPort = await freePort();
  const proc = new OwnedProcess('nginx');
  const { cert, key } = selfSignedCertificate(proc.dir, site);
  const siteConf = renderShipped('nginx.conf', [
    ['live.example.com', site],
    ['listen 80;', `listen ${httpPort};`],
    ['listen [::]:80;', `listen [::]:${httpPort};`],
    ['listen 443 ssl', `listen ${port} ssl`],
    ['listen [::]:443 ssl', `listen [::]:${port} ssl`],
    [`/etc/letsencrypt/live/${site}/fullchain.pem`, cert],
    [`/etc/letsencrypt/live/${site}/privkey.pem`, key],
    ['proxy_pass http://127.0.0.1:8080;', `proxy_pass http://127.0.0.1:${upstreamPort};`],
  ]);
  await runNginx(proc, siteConf);
  return { process: proc, origin: `https://${site}:${port}`, close: () => proc.close() };
}

export interface TurnServer {
  process: OwnedProcess;
  port: number;
  /** turns: (TLS), with a self-signed certificate in place of the documented /etc/coturn files. */
  tlsPort: number;
  close(): Promise<void>;
}

/**
 * deploy/turnserver.conf on 127.0.0.1, with `secret`. The SFU is on loopback
 * here, which the shipped file (rightly) refuses to relay to: the test allows
 * exactly 127.0.0.1, as the file says to do for an SFU on a private address.
 */
export async function startCoturn(secret: string): Promise<TurnServer> {
  const turnserver = requireBinary('turnserver', 'coturn');
  const port = await freePort();
  const tlsPort = await freePort();
  const relayBase = 51_000 + Math.floor(Math.random() * 140) * 100;
  const proc = new OwnedProcess('coturn');
  const { cert, key } = selfSignedCertificate(proc.dir, 'redred.test');
  const conf = renderShipped('turnserver.conf', [
    ['listening-port=3478', `listening-port=${port}`],
    ['tls-listening-port=5349', `tls-listening-port=${tlsPort}`],
    ['min-port=50000', `min-port=${relayBase}`],
    ['max-port=50999', `max-port=${relayBase + 99}`],
    ['static-auth-secret=CHANGE-ME-openssl-rand-hex-32', `static-auth-secret=${secret}`],
    ['realm=turn.example.com', 'realm=redred.test'],
    ['cert=/etc/coturn/fullchain.pem', `cert=${cert}`],
    ['pkey=/etc/coturn/privkey.pem', `pkey=${key}`],
    ['\nsyslog\n', '\n'],
  ]);
  const local = ['listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', 'allow-loopback-peers', 'allowed-peer-ip=127.0.0.1', `pidfile=${join(proc.dir, 'turnserver.pid')}`, `userdb=${join(proc.dir, 'turndb')}`, 'log-file=stdout', 'verbose'];
  writeFileSync(join(proc.dir, 'turnserver.conf'), `${conf}\n${local.join('\n')}\n`);
  await proc.start(turnserver, ['-c', join(proc.dir, 'turnserver.conf')], { ready: /Total General servers/ });
  return { process: proc, port, tlsPort, close: () => proc.close() };
}

export interface ClusterFront {
  process: OwnedProcess;
  /** What clients open: http://127.0.0.1:<port> (TLS is the single-node front's test; this one proves the balancing). */
  url: string;
  close(): Promise<void>;
}

/**
 * deploy/nginx-cluster.conf in front of nodes on 127.0.0.1 at `nodePorts`
 * (one `server` line each, in place of the file's three examples), served over
 * plain HTTP: its TLS lines are those of deploy/nginx.conf, tested through real
 * nginx elsewhere.
 */
export async function startClusterFront(nodePorts: readonly number[]): Promise<ClusterFront> {
  if (nodePorts.length === 0) throw new Error('startClusterFront needs at least one node');
  const serverLine = (p: number) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`;
  const port = await freePort();
  const httpPort = await freePort();
  const proc = new OwnedProcess('nginx-cluster');
  const site = renderShipped('nginx-cluster.conf', [
    // The first example line becomes every node's line; the other two go.
    ['server 10.0.0.11:8080 max_fails=1 fail_timeout=10s;', nodePorts.map(serverLine).join('\n    ')],
    ['server 10.0.0.12:8080 max_fails=1 fail_timeout=10s;', ''],
    ['server 10.0.0.13:8080 max_fails=1 fail_timeout=10s;', ''],
    ['listen 80;', `listen ${httpPort};`],
    ['listen [::]:80;', ''],
    ['listen 443 ssl http2;', `listen ${port};`],
    ['listen [::]:443 ssl http2;', ''],
    ['ssl_certificate     /etc/letsencrypt/live/live.example.com/fullchain.pem;', ''],
    ['ssl_certificate_key /etc/letsencrypt/live/live.example.com/privkey.pem;', ''],
    ['ssl_protocols       TLSv1.2 TLSv1.3;', ''],
  ]);
  await runNginx(proc, site);
  return { process: proc, url: `http://127.0.0.1:${port}`, close: () => proc.close() };
}

/** nginx in the foreground, in `proc`'s folder, with `siteConf` as its only site. */
async function runNginx(proc: OwnedProcess, siteConf: string): Promise<void> {
  const nginx = requireBinary('nginx');
  writeFileSync(join(proc.dir, 'redred.conf'), siteConf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => {
    const p = join(proc.dir, t);
    mkdirSync(p, { mode: 0o777 });
    return `\t${t}_temp_path ${p};`;
  });
  writeFileSync(
    join(proc.dir, 'nginx.conf'),
    // Sized as docs/deployment.md tells operators: every proxied WebSocket holds two connections.
    ['daemon off;', 'worker_processes 1;', 'worker_rlimit_nofile 65536;', `pid ${join(proc.dir, 'nginx.pid')};`, 'error_log stderr notice;', 'events { worker_connections 16384; }', 'http {', '\taccess_log off;', ...temp, `\tinclude ${join(proc.dir, 'redred.conf')};`, '}', ''].join('\n'),
  );
  await proc.start(nginx, ['-p', proc.dir, '-c', join(proc.dir, 'nginx.conf'), '-e', 'stderr'], { ready: /start worker process/ });
}
