import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './TypedEmitter.ts';

type Events = { tick: [number]; done: [] };

class Clock extends TypedEmitter<Events> {
  tick(n: number): boolean {
    return this.safeEmit('tick', n);
  }
}

describe('TypedEmitter', () => {
  it('a throwing or rejecting listener is reported and does not stop the others', async () => {
    const reported: unknown[] = [];
    const clock = new Clock((_event, error) => reported.push(error));
    const seen: number[] = [];
    clock.on('tick', () => {
      throw new Error('boom');
    });
    clock.on('tick', async () => {
      throw new Error('async boom');
    });
    clock.on('tick', (n) => seen.push(n));

    expect(clock.tick(1)).toBe(true);
    await Promise.resolve();

    expect(seen).toEqual([1]);
    expect(reported.map((e) => (e as Error).message)).toEqual(['boom', 'async boom']);
  });

  it('once listeners run once and off removes a listener', () => {
    const clock = new Clock();
    const seen: string[] = [];
    const always = (n: number) => seen.push(`always ${n}`);
    clock.once('tick', (n) => seen.push(`once ${n}`));
    clock.on('tick', always);

    clock.tick(1);
    clock.off('tick', always);
    clock.tick(2);

    expect(seen).toEqual(['once 1', 'always 1']);
    expect(clock.listenerCount('tick')).toBe(0);
    expect(clock.tick(3)).toBe(false);
  });
});
