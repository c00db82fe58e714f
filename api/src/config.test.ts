import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, REPO_ROOT } from './config.ts';

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
