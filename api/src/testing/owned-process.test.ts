import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OwnedProcess, skipWithout } from './owned-process.ts';

const owned: OwnedProcess[] = [];
const ci = process.env.CI;
afterEach(async () => {
  await Promise.all(owned.splice(0).map((p) => p.close()));
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

function own(name: string): OwnedProcess {
  const p = new OwnedProcess(name);
  owned.push(p);
  return p;
}

describe('OwnedProcess: a third-party server a test starts and stops', () => {
  it('is ready when its output says so, and close() stops it and removes its folder, once', async () => {
    const p = own('idle');
    await p.start(process.execPath, ['-e', "console.log('listening'); setInterval(() => {}, 1000)"], { ready: /listening/ });
    expect(p.output).toContain('listening');
    expect(existsSync(p.dir)).toBe(true);
    await p.close();
    await p.close();
    expect(p.closed).toBe(true);
    expect(existsSync(p.dir)).toBe(false);
  });

  it('fails with the output when the process exits before it is ready', async () => {
    const p = own('broken');
    await expect(p.start(process.execPath, ['-e', "console.error('bad config line 3'); process.exit(2)"], { ready: /listening/ })).rejects.toThrow(/exited with 2[\s\S]*bad config line 3/);
    expect(existsSync(p.dir)).toBe(false);
  });

  it('lets a test skip for a missing binary outside CI only: under CI=true the test runs and fails', () => {
    delete process.env.CI;
    expect(skipWithout('node')).toBe(false);
    expect(skipWithout('redred-no-such-binary')).toBe(true);
    process.env.CI = 'true';
    expect(skipWithout('redred-no-such-binary')).toBe(false);
  });
});
