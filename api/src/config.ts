import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTurnConfig, type TurnConfig } from './auth/turn-credentials.ts';
import { ConfigError } from './config-error.ts';
import { parsePublicUrl } from './security/public-url.ts';

/**
 * The repository root. Default paths hang off it, not off the working directory:
 * npm runs a workspace's scripts inside the workspace folder, and a service
 * manager may start us anywhere.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A path the operator typed (DATA_DIR, --data-dir): relative to the folder the
 * command was typed in. npm moves into the package folder before running a
 * script and records the original one in INIT_CWD.
 */
export function operatorPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.INIT_CWD || process.cwd(), path);
}

export interface AppConfig {
  host: string;
  port: number;
  /** Folder holding the SQLite file (`redred.sqlite`); unused for the database when `databaseUrl` is set. */
  dataDir: string;
  /** `postgres://…` (DATABASE_URL): PostgreSQL instead of the SQLite file. Cluster mode needs it (docs/scaling.md). */
  databaseUrl: string | undefined;
  /** `redis://…` (REDIS_URL): the Redis a cluster's room bus runs on. Cluster mode needs it (docs/scaling.md). */
  redisUrl: string | undefined;
  /** What a node of a cluster needs beyond the two URLs (docs/scaling.md); unused by a lone node. */
  cluster: ClusterConfig;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Address mediasoup binds for RTC; `rtcAnnouncedAddress` (IP or hostname) is what goes into ICE candidates (behind NAT). */
  rtcListenIp: string;
  rtcAnnouncedAddress: string | undefined;
  /** UDP + TCP media port of the first worker; worker i uses rtcPort + i. 0: any free port (tests). */
  rtcPort: number;
  /** Pipe transport ports (fan-out between workers), split between workers. */
  rtcMinPort: number;
  rtcMaxPort: number;
  mediasoupWorkers: number;
  /** Consumers one router carries before new viewers go to a router on another worker. */
  maxConsumersPerRouter: number;
  /** Origins allowed to open WebSockets and send cookie-authenticated writes. Empty: same origin only. */
  allowedOrigins: string[];
  /** Off by default so a spoofed X-Forwarded-For cannot dodge bans or limits. */
  trustProxy: boolean;
  /** The origin browsers use (PUBLIC_URL), behind a proxy: allowed origin, `Secure` cookies, absolute links. */
  publicUrl: string | undefined;
  secureCookies: boolean;
  /** coturn REST-API credentials handed out as ICE servers; undefined: no TURN. */
  turn: TurnConfig | undefined;
  sessionTtlMs: number;
  heartbeatMs: number;
  /**
   * New comments of a stream go out at most once per this many ms, as one frame
   * (`comment`, or `comments` for several): the first after a quiet period at once.
   */
  chatFlushMs: number;
  /** Per-connection WebSocket message rate (any type): sustained per second, and burst. */
  wsMessagesPerSecond: number;
  wsMessageBurst: number;
  /** Account creations allowed per client address per hour (REGISTRATIONS_PER_IP_PER_HOUR). */
  registrationsPerIpPerHour: number;
  /** Accounts that are site admins whatever the database says (ADMIN_USERNAMES, comma-separated): how the first admin exists. */
  adminUsernames: string[];
  /** Who may sign up (REGISTRATION); an admin may change it at run time (site settings). */
  registration: 'open' | 'invite' | 'closed';
  /** Who may stream (STREAMING): everyone, or accounts an admin approved; changeable at run time too. */
  streaming: 'everyone' | 'approved';
  /** Origins allowed to frame the embeddable player `/embed/<username>` (EMBED_ORIGINS); empty: this site only. */
  embedOrigins: string[];
  /** Bearer token scrapers of /metrics send (METRICS_TOKEN); without it and without `metricsListen`, /metrics refuses. */
  metricsToken: string | undefined;
  /** METRICS_HOST (default 127.0.0.1) : METRICS_PORT: /metrics on its own listener instead of the public port. */
  metricsListen: { host: string; port: number } | undefined;
  /** WEBHOOK_URLS (comma-separated) get signed events; WEBHOOK_SECRET signs them (docs/webhooks.md). */
  webhookUrls: string[];
  webhookSecret: string | undefined;
  /** Waits before each webhook retry; not read from the environment (tests shorten it). */
  webhookBackoffMs: number[];
  /** Built client to serve at `/`, if present. */
  clientDir: string | undefined;
  /** Recordings (docs/recording.md): files under DATA_DIR/recordings/. */
  recording: {
    /** Days a finished recording is kept (RECORDING_RETENTION_DAYS); 0 keeps them. */
    retentionDays: number;
    /** Total size of recordings, in GB (RECORDING_MAX_GB); the oldest go first; 0: no quota. */
    maxGb: number;
    /** Segment length (RECORDING_SEGMENT_SECONDS): at most this much is lost when a recorder dies. */
    segmentSeconds: number;
    /** Recorders stop (reason `disk_low`) when the disk has less free space, in MB (RECORDING_MIN_FREE_MB). */
    minFreeMb: number;
    /** ffmpeg and ffprobe (FFMPEG_PATH, FFPROBE_PATH): Debian's `ffmpeg` package. */
    ffmpegPath: string;
    ffprobePath: string;
  };
  sweeper: {
    intervalMs: number;
    maxLiveMs: number;
    idleNoViewersMs: number;
    waitingNoStreamerMs: number;
    /** How often open rooms are checked against the database (streams ended by the CLI) and presence is recorded. */
    roomSyncIntervalMs: number;
    /** After a restart, how long a stream the database calls live waits for its streamer to republish; 0 ends it at once. */
    restartGraceMs: number;
    /** How long a live stream whose publisher (studio or encoder) is gone waits for it before ending with `publisher_lost` (STREAMER_GONE_MS). */
    streamerGoneMs: number;
  };
}

export interface ClusterConfig {
  /** This node's name in the registry (NODE_ID); default: host name, port and a random suffix. */
  nodeId: string | undefined;
  /** Shared by every node (CLUSTER_SECRET): node-to-node calls carry it. Required in cluster mode, 16+ characters. */
  secret: string | undefined;
  /** Where other nodes reach this one's HTTP port (CLUSTER_INTERNAL_URL); default: http://HOST:PORT once listening. */
  internalUrl: string | undefined;
  /** The address other nodes send piped media to (CLUSTER_MEDIA_ADDRESS); default: RTC_ANNOUNCED_IP, else RTC_LISTEN_IP. */
  mediaAddress: string | undefined;
  /** Prefix of every Redis key and channel (CLUSTER_NAME): the nodes of one cluster share it. */
  name: string;
  /** A node refreshes its registry entry this often (CLUSTER_HEARTBEAT_MS)… */
  heartbeatMs: number;
  /** …and one not refreshed for this long is dead (CLUSTER_NODE_TTL_MS). */
  nodeTtlMs: number;
  /** An edge node keeps a stream's pipe this long after its last viewer left (CLUSTER_PIPE_LINGER_MS). */
  pipeLingerMs: number;
}

export function defaultConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: join(REPO_ROOT, 'data'),
    databaseUrl: undefined,
    redisUrl: undefined,
    cluster: { nodeId: undefined, secret: undefined, internalUrl: undefined, mediaAddress: undefined, name: 'redred', heartbeatMs: 1000, nodeTtlMs: 5000, pipeLingerMs: 5000 },
    logLevel: 'info',
    rtcListenIp: '127.0.0.1',
    rtcAnnouncedAddress: undefined,
    rtcPort: 40000,
    rtcMinPort: 40100,
    rtcMaxPort: 40999,
    mediasoupWorkers: Math.max(1, cpus().length),
    maxConsumersPerRouter: 250,
    allowedOrigins: [],
    trustProxy: false,
    publicUrl: undefined,
    secureCookies: false,
    turn: undefined,
    sessionTtlMs: 30 * 24 * 3600 * 1000,
    heartbeatMs: 10_000,
    chatFlushMs: 50,
    registrationsPerIpPerHour: 30,
    wsMessagesPerSecond: 20,
    wsMessageBurst: 40,
    adminUsernames: [],
    registration: 'open',
    streaming: 'everyone',
    embedOrigins: [],
    metricsToken: undefined,
    metricsListen: undefined,
    webhookUrls: [],
    webhookSecret: undefined,
    webhookBackoffMs: [1_000, 5_000, 30_000, 120_000, 600_000],
    clientDir: undefined,
    recording: { retentionDays: 30, maxGb: 50, segmentSeconds: 60, minFreeMb: 1024, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
    sweeper: {
      intervalMs: 60_000,
      maxLiveMs: 4 * 3600 * 1000,
      idleNoViewersMs: 30 * 60 * 1000,
      waitingNoStreamerMs: 30 * 60 * 1000,
      roomSyncIntervalMs: 2000,
      restartGraceMs: 60_000,
      streamerGoneMs: 3 * 60_000,
    },
    ...overrides,
  };
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

/** A URL whose scheme is one of `schemes`; the message never echoes it (it may hold a password). */
function serviceUrl(env: NodeJS.ProcessEnv, name: string, schemes: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let scheme: string;
  try {
    scheme = new URL(raw).protocol.replace(/:$/, '');
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (!schemes.includes(scheme)) throw new ConfigError(`${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}`);
  return raw;
}

/** Cluster mode: several nodes share PostgreSQL and Redis. Both must be set; neither is the embedded default. */
export function isClusterMode(config: Pick<AppConfig, 'databaseUrl' | 'redisUrl'>): boolean {
  return config.databaseUrl !== undefined && config.redisUrl !== undefined;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** EMBED_ORIGINS: origins only (they go into a CSP header), so a path, a quote or a `;` is refused. */
function embedOrigins(raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`EMBED_ORIGINS must list origins like https://blog.example.com, got "${origin}"`);
    }
  }
  return list.map((o) => o.replace(/\/$/, ''));
}

function webhooks(env: NodeJS.ProcessEnv): { webhookUrls: string[]; webhookSecret: string | undefined } {
  const webhookUrls = (env.WEBHOOK_URLS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const url of webhookUrls) {
    let scheme = '';
    try {
      scheme = new URL(url).protocol;
    } catch {
      scheme = '';
    }
    if (scheme !== 'https:' && scheme !== 'http:') throw new ConfigError(`WEBHOOK_URLS must list http(s) URLs, got "${url}"`);
  }
  const webhookSecret = env.WEBHOOK_SECRET || undefined;
  if (webhookUrls.length > 0 && (webhookSecret?.length ?? 0) < 16) throw new ConfigError('WEBHOOK_URLS needs WEBHOOK_SECRET (at least 16 characters) to sign the events');
  return { webhookUrls, webhookSecret };
}

function metricsToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  return raw;
}

/** What cluster mode cannot run without; the message never echoes the secret. */
export function checkClusterConfig(config: Pick<AppConfig, 'databaseUrl' | 'redisUrl' | 'cluster'>): void {
  if (!isClusterMode(config)) return;
  const { secret, heartbeatMs, nodeTtlMs, nodeId } = config.cluster;
  if (!secret || secret.length < 16) throw new ConfigError('cluster mode (DATABASE_URL and REDIS_URL) needs CLUSTER_SECRET, the same 16+ characters on every node');
  if (nodeTtlMs < 2 * heartbeatMs) throw new ConfigError('CLUSTER_NODE_TTL_MS must be at least twice CLUSTER_HEARTBEAT_MS');
  if (nodeId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) throw new ConfigError('NODE_ID is 1 to 64 letters, digits, dots, dashes or underscores');
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Reads configuration from the environment (documented in README.md). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const d = defaultConfig();
  const level = (env.LOG_LEVEL ?? d.logLevel) as AppConfig['logLevel'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new ConfigError(`LOG_LEVEL "${level}" is not a pino level`);
  const publicUrl = parsePublicUrl(env.PUBLIC_URL);
  const cfg = defaultConfig({
    host: env.HOST || d.host,
    port: int(env, 'PORT', d.port, 0, 65535),
    dataDir: env.DATA_DIR ? operatorPath(env.DATA_DIR, env) : d.dataDir,
    databaseUrl: serviceUrl(env, 'DATABASE_URL', ['postgres', 'postgresql']),
    redisUrl: serviceUrl(env, 'REDIS_URL', ['redis', 'rediss']),
    cluster: {
      nodeId: env.NODE_ID || undefined,
      secret: env.CLUSTER_SECRET || undefined,
      internalUrl: serviceUrl(env, 'CLUSTER_INTERNAL_URL', ['http', 'https']),
      mediaAddress: env.CLUSTER_MEDIA_ADDRESS || undefined,
      name: env.CLUSTER_NAME || d.cluster.name,
      heartbeatMs: int(env, 'CLUSTER_HEARTBEAT_MS', d.cluster.heartbeatMs, 100, 60_000),
      nodeTtlMs: int(env, 'CLUSTER_NODE_TTL_MS', d.cluster.nodeTtlMs, 300, 600_000),
      pipeLingerMs: int(env, 'CLUSTER_PIPE_LINGER_MS', d.cluster.pipeLingerMs, 0, 600_000),
    },
    logLevel: level,
    rtcListenIp: env.RTC_LISTEN_IP || d.rtcListenIp,
    // RTC_ANNOUNCED_IP: the deprecated name, from before hostnames were allowed.
    rtcAnnouncedAddress: env.RTC_ANNOUNCED_ADDRESS || env.RTC_ANNOUNCED_IP || undefined,
    rtcPort: int(env, 'RTC_PORT', d.rtcPort, 0, 65535),
    rtcMinPort: int(env, 'RTC_MIN_PORT', d.rtcMinPort, 1024, 65535),
    rtcMaxPort: int(env, 'RTC_MAX_PORT', d.rtcMaxPort, 1024, 65535),
    mediasoupWorkers: int(env, 'MEDIASOUP_WORKERS', d.mediasoupWorkers, 1, 64),
    maxConsumersPerRouter: int(env, 'MAX_CONSUMERS_PER_ROUTER', d.maxConsumersPerRouter, 1, 100_000),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    trustProxy: bool(env, 'TRUST_PROXY', d.trustProxy),
    publicUrl,
    // An https PUBLIC_URL means browsers only ever reach us over TLS (at the proxy).
    secureCookies: bool(env, 'SECURE_COOKIES', publicUrl?.startsWith('https:') ?? d.secureCookies),
    turn: parseTurnConfig(env),
    heartbeatMs: int(env, 'HEARTBEAT_MS', d.heartbeatMs, 1000, 60_000),
    chatFlushMs: int(env, 'CHAT_FLUSH_MS', d.chatFlushMs, 0, 1000),
    registrationsPerIpPerHour: int(env, 'REGISTRATIONS_PER_IP_PER_HOUR', d.registrationsPerIpPerHour, 1),
    wsMessagesPerSecond: int(env, 'WS_MESSAGES_PER_SECOND', d.wsMessagesPerSecond, 1),
    wsMessageBurst: int(env, 'WS_MESSAGE_BURST', d.wsMessageBurst, 1),
    adminUsernames: (env.ADMIN_USERNAMES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    registration: oneOf(env, 'REGISTRATION', ['open', 'invite', 'closed'] as const, d.registration),
    streaming: oneOf(env, 'STREAMING', ['everyone', 'approved'] as const, d.streaming),
    embedOrigins: embedOrigins(env.EMBED_ORIGINS),
    metricsToken: metricsToken(env.METRICS_TOKEN),
    ...webhooks(env),
    metricsListen: env.METRICS_PORT ? { host: env.METRICS_HOST || '127.0.0.1', port: int(env, 'METRICS_PORT', 0, 1, 65535) } : undefined,
    clientDir: env.CLIENT_DIR ? operatorPath(env.CLIENT_DIR, env) : join(REPO_ROOT, 'client', 'dist'),
    recording: {
      retentionDays: int(env, 'RECORDING_RETENTION_DAYS', d.recording.retentionDays, 0, 36_500),
      maxGb: int(env, 'RECORDING_MAX_GB', d.recording.maxGb, 0, 1_000_000),
      segmentSeconds: int(env, 'RECORDING_SEGMENT_SECONDS', d.recording.segmentSeconds, 2, 3600),
      minFreeMb: int(env, 'RECORDING_MIN_FREE_MB', d.recording.minFreeMb, 0, 10_000_000),
      ffmpegPath: env.FFMPEG_PATH || d.recording.ffmpegPath,
      ffprobePath: env.FFPROBE_PATH || d.recording.ffprobePath,
    },
    sweeper: {
      intervalMs: int(env, 'SWEEP_INTERVAL_MS', d.sweeper.intervalMs, 1000),
      maxLiveMs: int(env, 'SWEEP_MAX_LIVE_MS', d.sweeper.maxLiveMs, 1000),
      idleNoViewersMs: int(env, 'SWEEP_IDLE_MS', d.sweeper.idleNoViewersMs, 1000),
      waitingNoStreamerMs: int(env, 'SWEEP_WAITING_MS', d.sweeper.waitingNoStreamerMs, 1000),
      roomSyncIntervalMs: int(env, 'SWEEP_ROOM_SYNC_MS', d.sweeper.roomSyncIntervalMs, 100, 60_000),
      restartGraceMs: int(env, 'RESTART_GRACE_MS', d.sweeper.restartGraceMs, 0, 3600 * 1000),
      streamerGoneMs: int(env, 'STREAMER_GONE_MS', d.sweeper.streamerGoneMs, 0, 3600 * 1000),
    },
  });
  if (cfg.rtcMinPort >= cfg.rtcMaxPort) throw new ConfigError('RTC_MIN_PORT must be below RTC_MAX_PORT');
  checkClusterConfig(cfg);
  return cfg;
}
