import { describe, expect, it } from 'vitest';
import type { WireComment } from '@redred/api/protocol';
import { RequestError } from '../net/live-connection.ts';
import { CHAT_LINES_KEPT, createChatState } from './chat.ts';

const comment = (id: number, content = `c${id}`): WireComment => ({
  id,
  streamId: 1,
  author: { id: 7, username: 'ann', role: 'viewer' },
  content,
  highlighted: false,
  createdAt: 1_000 + id,
});

describe('chat state', () => {
  it('replaces lines with the history, ignores a comment it already has, and drops deleted ones', () => {
    const chat = createChatState();
    chat.add(comment(1));
    chat.setHistory([comment(2), comment(3)]);
    chat.add(comment(3));
    chat.add(comment(4));
    chat.remove([2, 4]);
    expect(chat.lines.value.map((l) => l.key)).toEqual(['c3']);
  });

  it(`keeps the last ${CHAT_LINES_KEPT} lines`, () => {
    const chat = createChatState();
    for (let i = 1; i <= CHAT_LINES_KEPT + 5; i++) chat.add(comment(i));
    expect(chat.lines.value).toHaveLength(CHAT_LINES_KEPT);
    expect(chat.lines.value[0]?.key).toBe('c6');
  });

  it('starts the slow-mode countdown after a sent comment, except for staff', () => {
    const chat = createChatState();
    chat.settings.value = { slowModeSeconds: 30, blockedWords: [], accountsOnly: false };
    chat.sent(10_000, true);
    expect(chat.cooldownUntil.value).toBe(0);
    chat.sent(10_000, false);
    expect(chat.cooldownUntil.value).toBe(40_000);
  });

  it('turns refusals into a countdown or a timeout, and keeps the reason', () => {
    const chat = createChatState();
    chat.refused(new RequestError('slow_mode', 'slow mode is on', 7), 1_000);
    expect(chat.cooldownUntil.value).toBe(8_000);
    chat.refused(new RequestError('timed_out', 'you are timed out', 600), 1_000);
    expect(chat.timedOutUntil.value).toBe(601_000);
    chat.refused(new RequestError('blocked_word', 'that word is not allowed here'), 1_000);
    expect(chat.refusal.value).toEqual({ code: 'blocked_word', message: 'that word is not allowed here' });
  });
});
