import { describe, expect, it } from 'vitest';
import { emotesAllowed, splitEmotes } from './emotes.ts';

describe('VIP emotes', () => {
  it('turns known codes into emotes for VIPs and staff', () => {
    expect(splitEmotes('gg :redheart: well :fire::fire:', true)).toEqual([
      { kind: 'text', text: 'gg ' },
      { kind: 'emote', name: 'redheart' },
      { kind: 'text', text: ' well ' },
      { kind: 'emote', name: 'fire' },
      { kind: 'emote', name: 'fire' },
    ]);
  });

  it('leaves unknown codes and everyone else’s codes as text', () => {
    expect(splitEmotes(':nope: :redheart:', false)).toEqual([{ kind: 'text', text: ':nope: :redheart:' }]);
    expect(splitEmotes(':nope:', true)).toEqual([{ kind: 'text', text: ':nope:' }]);
  });

  it('allows emotes by role', () => {
    expect(['streamer', 'moderator', 'vip', 'viewer', 'anonymous'].map((r) => emotesAllowed(r as never))).toEqual([true, true, true, false, false]);
  });
});
