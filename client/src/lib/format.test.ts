import { describe, expect, it } from 'vitest';
import { describeEndReason, formatBytes, formatCount, formatDuration, formatRemaining, graphemeLength } from './format.ts';

describe('format', () => {
  it('formats a live duration as m:ss, then h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
  });

  it('says how long a slow mode or a timeout still holds', () => {
    expect(formatRemaining(6_100)).toBe('7 s');
    expect(formatRemaining(252_000)).toBe('4 min 12 s');
    expect(formatRemaining(600_000)).toBe('10 min');
    expect(formatRemaining(7_500_000)).toBe('2 h 5 min');
    expect(formatRemaining(14 * 86_400_000)).toBe('14 d');
  });

  it('compacts viewer counts', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234)).toBe('1.2K');
    expect(formatCount(12_345)).toBe('12K');
    expect(formatCount(1_000_000)).toBe('1M');
  });

  it('counts graphemes as the server does', () => {
    expect(graphemeLength('héllo')).toBe(5);
    expect(graphemeLength('👍🏽👨‍👩‍👧')).toBe(2);
  });

  it('sizes files in 1024 steps', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
    expect(formatBytes(3.4 * 1024 ** 3)).toBe('3.4 GB');
  });
});

describe('describeEndReason', () => {
  it('says why in words, with an admin’s own words quoted', () => {
    expect(describeEndReason('publisher_lost')).toBe('The streamer’s connection was lost and did not come back in time.');
    expect(describeEndReason('admin_ended: spam: twice')).toBe('A site admin ended the stream: “spam: twice”');
    expect(describeEndReason('admin_ended')).toBe('A site admin ended the stream.');
    expect(describeEndReason('something_new')).toBe('The stream has ended.');
  });
});
