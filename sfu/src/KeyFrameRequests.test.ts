import { describe, expect, it } from 'vitest';
import { KeyFrameRequests } from './KeyFrameRequests.ts';
import { captureLogger, ManualTimer } from './testFixtures.ts';

function setup() {
  const timer = new ManualTimer();
  const sent: number[] = [];
  const requests = new KeyFrameRequests({
    request: async () => {
      sent.push(timer.now);
    },
    delaysMs: [700, 1400],
    timer,
    log: captureLogger(),
  });
  return { timer, sent, requests, advance: (ms: number) => timer.advance(ms) };
}

describe('KeyFrameRequests', () => {
  it('requests at once, then at each retry delay', () => {
    const { sent, requests, advance } = setup();
    requests.start();
    expect(sent).toEqual([0]);
    advance(700);
    advance(700);
    expect(sent).toEqual([0, 700, 1400]);
    expect(requests.pending).toBe(0);
  });

  it('cancel() drops the retries still scheduled', () => {
    const { timer, sent, requests, advance } = setup();
    requests.start();
    advance(700);
    requests.cancel();
    advance(5_000);
    expect(sent).toEqual([0, 700]);
    expect(timer.pending).toBe(0);
  });

  it('a second start() replaces the first one\'s retries', () => {
    const { timer, sent, requests, advance } = setup();
    requests.start();
    advance(500);
    requests.start();
    expect(timer.pending).toBe(2);
    advance(5_000);
    expect(sent).toEqual([0, 500, 1200, 1900]);
  });

  it('a failed request is logged at debug and does not stop the retries', async () => {
    const timer = new ManualTimer();
    const log = captureLogger();
    let calls = 0;
    const requests = new KeyFrameRequests({
      request: async () => {
        calls++;
        throw new Error('consumer closed');
      },
      delaysMs: [10],
      timer,
      log,
    });
    requests.start();
    timer.advance(10);
    await Promise.resolve();
    expect(calls).toBe(2);
    expect(log.lines.map((line) => line.level)).toEqual(['debug', 'debug']);
  });
});
