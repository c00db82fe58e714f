import { describe, expect, it } from 'vitest';
import { parsePrometheus } from './probes.ts';

describe('Prometheus text', () => {
  it('parses names, labels and values', () => {
    const s = parsePrometheus('# HELP x y\nredred_viewers 12\nredred_worker_consumers{worker="0",pid="42"} 7\n');
    expect(s).toEqual([
      { name: 'redred_viewers', labels: {}, value: 12 },
      { name: 'redred_worker_consumers', labels: { worker: '0', pid: '42' }, value: 7 },
    ]);
  });
});
