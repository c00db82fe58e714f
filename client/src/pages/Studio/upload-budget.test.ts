import { describe, expect, it } from 'vitest';
import { AUDIO_AND_OVERHEAD_BPS, autoBudget, limitationWarning, planLayers } from './upload-budget.ts';

describe('upload budget → simulcast layers', () => {
  it('sends one 360p layer on a 0.6 Mbps uplink, within the budget with audio', () => {
    const layers = planLayers(600_000, 720, 720);
    expect(layers).toEqual([{ height: 360, scaleResolutionDownBy: 2, maxBitrate: 520_000 }]);
    expect(layers[0]!.maxBitrate + AUDIO_AND_OVERHEAD_BPS).toBeLessThanOrEqual(600_000);
  });

  it('sends two layers at 1.5 Mbps and three at 3 Mbps, lowest first, never over the budget', () => {
    const two = planLayers(1_500_000, 720, 720);
    expect(two.map((l) => l.height)).toEqual([360, 720]);
    const three = planLayers(3_000_000, 720, 720);
    expect(three.map((l) => l.height)).toEqual([180, 360, 720]);
    expect(three.map((l) => l.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    for (const plan of [two, three]) {
      const total = plan.reduce((sum, l) => sum + l.maxBitrate, 0);
      expect(total + AUDIO_AND_OVERHEAD_BPS).toBeLessThanOrEqual(plan === two ? 1_500_000 : 3_000_000);
      expect(plan.map((l) => l.maxBitrate)).toEqual([...plan.map((l) => l.maxBitrate)].sort((a, b) => a - b));
    }
  });

  it('respects the chosen resolution and the camera', () => {
    expect(planLayers(3_000_000, 720, 480).map((l) => l.height)).toEqual([120, 240, 480]);
    expect(planLayers(3_000_000, 480, 720).at(-1)).toMatchObject({ height: 480, scaleResolutionDownBy: 1 });
  });

  it('takes 70 % of a measured uplink, within 0.3–6 Mbps', () => {
    expect(autoBudget(2_000_000)).toBe(1_400_000);
    expect(autoBudget(100_000)).toBe(300_000);
    expect(autoBudget(1e9)).toBe(6_000_000);
  });

  it('warns when the encoder is held back by bandwidth or CPU', () => {
    const layer = { rid: 'r0', width: 640, height: 360, fps: 30, bps: 500_000 };
    expect(limitationWarning([{ ...layer, limitation: 'none' }])).toBeNull();
    expect(limitationWarning([{ ...layer, limitation: 'bandwidth' }])).toMatch(/upload is too slow/);
    expect(limitationWarning([{ ...layer, limitation: 'cpu' }])).toMatch(/computer/);
  });
});
