import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, isClusterMode, REPO_ROOT } from './config.ts';

describe('configuration paths', () => {
  it('puts the database and the web client under the repository by default, whatever the working directory', () => {
    const config = configFromEnv({});
    expect(config.dataDir).toBe(join(REPO_ROOT, 'data'));
    expect(config.clientDir).toBe(join(REPO_ROOT, 'client', 'dist'));
  });

  it('takes a relative DATA_DIR or CLIENT_DIR from the folder the command was typed in (npm records it in INIT_CWD)', () => {
    const config = configFromEnv({ DATA_DIR: 'state', CLIENT_DIR: '../web', INIT_CWD: '/srv/redred' });
    expect(config.dataDir).toBe('/srv/redred/state');
    expect(config.clientDir).toBe('/srv/web');
    expect(configFromEnv({ DATA_DIR: '/var/lib/redred', INIT_CWD: '/srv/redred' }).dataDir).toBe('/var/lib/redred');
  });
});

describe('cluster services', () => {
  it('runs embedded (SQLite, in-process bus) unless both DATABASE_URL and REDIS_URL are set', () => {
    const embedded = configFromEnv({});
    expect(embedded).toMatchObject({ databaseUrl: undefined, redisUrl: undefined });
    expect(isClusterMode(embedded)).toBe(false);
    expect(isClusterMode(configFromEnv({ DATABASE_URL: 'postgres://u:p@db:5432/redred' }))).toBe(false);
    const cluster = configFromEnv({ DATABASE_URL: 'postgresql://u:p@db/redred', REDIS_URL: 'redis://cache:6379/0', CLUSTER_SECRET: 'sixteen chars ok' });
    expect(cluster).toMatchObject({ databaseUrl: 'postgresql://u:p@db/redred', redisUrl: 'redis://cache:6379/0' });
    expect(isClusterMode(cluster)).toBe(true);
  });

  it('refuses cluster mode without a shared secret of 16+ characters, never echoing it', () => {
    const both = { DATABASE_URL: 'postgres://u:p@db/redred', REDIS_URL: 'redis://cache:6379' };
    expect(() => configFromEnv(both)).toThrow(/needs CLUSTER_SECRET/);
    expect(() => configFromEnv({ ...both, CLUSTER_SECRET: 'short secret' })).toThrow(/^((?!short secret).)*$/);
    expect(() => configFromEnv({ ...both, CLUSTER_SECRET: 'a long enough secret', CLUSTER_HEARTBEAT_MS: '1000', CLUSTER_NODE_TTL_MS: '1500' })).toThrow(/CLUSTER_NODE_TTL_MS/);
    expect(() => configFromEnv({ ...both, CLUSTER_SECRET: 'a long enough secret', NODE_ID: 'a b' })).toThrow(/NODE_ID/);
    expect(configFromEnv({ ...both, CLUSTER_SECRET: 'a long enough secret', NODE_ID: 'node-a', CLUSTER_INTERNAL_URL: 'http://10.0.0.2:8080' }).cluster).toMatchObject({
      nodeId: 'node-a',
      internalUrl: 'http://10.0.0.2:8080',
      heartbeatMs: 1000,
      nodeTtlMs: 5000,
    });
  });

  it('refuses a URL of the wrong kind without echoing it (it may hold a password)', () => {
    expect(() => configFromEnv({ DATABASE_URL: 'mysql://u:secret@db/x' })).toThrow(/^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/$/);
    expect(() => configFromEnv({ REDIS_URL: 'not a url secret' })).toThrow(/^REDIS_URL is not a URL$/);
  });
});

describe('PUBLIC_URL', () => {
  it('keeps the origin browsers use, in the spelling browsers send, and marks cookies Secure when it is https', () => {
    const config = configFromEnv({ PUBLIC_URL: 'https://Live.Example.com:443/' });
    expect(config.publicUrl).toBe('https://live.example.com');
    expect(config.secureCookies).toBe(true);
    expect(configFromEnv({ PUBLIC_URL: 'http://10.0.0.5:8080' })).toMatchObject({ publicUrl: 'http://10.0.0.5:8080', secureCookies: false });
    expect(configFromEnv({ PUBLIC_URL: 'https://live.example.com', SECURE_COOKIES: 'false' }).secureCookies).toBe(false);
    expect(configFromEnv({})).toMatchObject({ publicUrl: undefined, secureCookies: false });
  });

  it('refuses anything but an http(s) origin, naming PUBLIC_URL', () => {
    for (const bad of ['live.example.com', 'ftp://live.example.com', 'https://live.example.com/app', 'https://live.example.com/?x=1', 'https://u:p@live.example.com']) {
      expect(() => configFromEnv({ PUBLIC_URL: bad }), bad).toThrow(/PUBLIC_URL/);
    }
  });
});

describe('community settings', () => {
  it('reads ADMIN_USERNAMES, REGISTRATION, STREAMING and EMBED_ORIGINS, refusing what cannot be right', () => {
    const cfg = configFromEnv({ ADMIN_USERNAMES: ' ana, Bob ', REGISTRATION: 'invite', STREAMING: 'approved', EMBED_ORIGINS: 'https://blog.example.com, http://localhost:3000/' });
    expect([cfg.adminUsernames, cfg.registration, cfg.streaming, cfg.embedOrigins]).toEqual([['ana', 'Bob'], 'invite', 'approved', ['https://blog.example.com', 'http://localhost:3000']]);
    expect(() => configFromEnv({ REGISTRATION: 'maybe' })).toThrow(/REGISTRATION must be one of open, invite, closed/);
    expect(() => configFromEnv({ STREAMING: 'all' })).toThrow(/STREAMING/);
    for (const bad of ['https://x.com/path', "https://x.com; script-src *", 'ftp://x.com', 'x.com']) expect(() => configFromEnv({ EMBED_ORIGINS: bad }), bad).toThrow(/EMBED_ORIGINS/);
  });
});

describe('documentation', () => {
  it("lists every variable the server reads in README.md's configuration table", () => {
    const read = new Set<string>();
    configFromEnv(new Proxy({} as NodeJS.ProcessEnv, { get: (_, name) => (typeof name === 'string' && read.add(name), undefined) }));
    read.delete('INIT_CWD'); // npm's, not ours
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Workspaces'));
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('media ports and addresses', () => {
  it('serves media on RTC_PORT + worker index, pipes from a small range, announces a hostname', () => {
    const config = configFromEnv({ RTC_PORT: '41000', RTC_ANNOUNCED_ADDRESS: 'media.example.org' });
    expect(config.rtcPort).toBe(41000);
    expect([config.rtcMinPort, config.rtcMaxPort]).toEqual([40100, 40999]);
    expect(config.rtcAnnouncedAddress).toBe('media.example.org');
  });

  it('still reads the deprecated RTC_ANNOUNCED_IP, and RTC_ANNOUNCED_ADDRESS wins over it', () => {
    expect(configFromEnv({ RTC_ANNOUNCED_IP: '203.0.113.7' }).rtcAnnouncedAddress).toBe('203.0.113.7');
    expect(configFromEnv({ RTC_ANNOUNCED_IP: '203.0.113.7', RTC_ANNOUNCED_ADDRESS: 'media.example.org' }).rtcAnnouncedAddress).toBe('media.example.org');
  });

  it('refuses an RTC_PORT that is not a port, with invalid_config', () => {
    expect(() => configFromEnv({ RTC_PORT: '70000' })).toThrowError(expect.objectContaining({ code: 'invalid_config' }) as Error);
  });
});
