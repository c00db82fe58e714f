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
