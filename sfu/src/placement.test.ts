import { describe, expect, it } from 'vitest';
import { placeRecvTransport, routerLoad, transportLoad } from './placement.ts';

describe('transportLoad', () => {
  it('counts a recv transport that has not consumed yet once per producer of the stream', () => {
    expect(transportLoad({ consumers: 0, consuming: 0 }, 2)).toBe(2);
    expect(transportLoad({ consumers: 0, consuming: 0 }, 3)).toBe(3);
  });

  it('counts at least one before the streamer publishes', () => {
    expect(transportLoad({ consumers: 0, consuming: 0 }, 0)).toBe(1);
  });

  it('counts what a transport holds once it consumes, consumes in flight included', () => {
    expect(transportLoad({ consumers: 1, consuming: 0 }, 2)).toBe(1);
    expect(transportLoad({ consumers: 1, consuming: 1 }, 2)).toBe(2);
    expect(transportLoad({ consumers: 0, consuming: 1 }, 2)).toBe(1);
    expect(transportLoad({ consumers: 3, consuming: 0 }, 2)).toBe(3);
  });
});

describe('routerLoad', () => {
  it('adds transports being created as transports that have not consumed yet', () => {
    expect(routerLoad([{ consumers: 2, consuming: 0 }, { consumers: 0, consuming: 0 }], 3, 2)).toBe(2 + 2 + 3 * 2);
    expect(routerLoad([], 0, 2)).toBe(0);
  });
});

describe('placeRecvTransport', () => {
  it('uses the least-loaded ready router below the limit, the origin on ties', () => {
    expect(placeRecvTransport([{ load: 4, ready: true }, { load: 2, ready: true }], 10, true)).toEqual({ action: 'use', index: 1 });
    expect(placeRecvTransport([{ load: 2, ready: true }, { load: 2, ready: true }], 10, true)).toEqual({ action: 'use', index: 0 });
  });

  it('skips routers at their limit and routers not ready yet', () => {
    expect(placeRecvTransport([{ load: 10, ready: true }, { load: 0, ready: false }, { load: 6, ready: true }], 10, true)).toEqual({
      action: 'use',
      index: 2,
    });
  });

  it('asks for a new router when every ready router is full', () => {
    expect(placeRecvTransport([{ load: 10, ready: true }, { load: 0, ready: false }], 10, true)).toEqual({ action: 'add' });
  });

  it('overflows onto the least-loaded router when no router can be added', () => {
    expect(placeRecvTransport([{ load: 12, ready: true }, { load: 10, ready: true }], 10, false)).toEqual({
      action: 'overflow',
      index: 1,
    });
  });

  it('fills routers exactly to the limit in a join storm of camera + mic viewers', () => {
    const limit = 250;
    const producers = 2;
    const pending: number[] = [0];
    const canAddRouter = () => pending.length < 4;
    for (let viewer = 0; viewer < 200; viewer++) {
      const decision = placeRecvTransport(
        pending.map((transports) => ({ load: routerLoad([], transports, producers), ready: true })),
        limit,
        canAddRouter(),
      );
      if (decision.action === 'add') {
        pending.push(1);
        continue;
      }
      pending[decision.index]! += 1;
    }
    expect(pending.map((transports) => transports * producers)).toEqual([250, 150]);
  });
});
