import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { BlockedWords, ChatThrottle, cleanComment, foldForMatching, normalizeBlockedWords } from './chat-rules.ts';

function refusal(fn: () => unknown): { code: string; retryAfterSeconds: number | undefined } | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { code: err.code, retryAfterSeconds: err.retryAfterSeconds };
  }
}

describe('cleanComment', () => {
  it('trims and keeps plain text as is, markup included', () => {
    expect(cleanComment('  hi <b>there</b> :hype:  ')).toBe('hi <b>there</b> :hype:');
  });

  it('refuses empty and invisible-only comments', () => {
    for (const raw of ['', '   ', '\u200B\u200B', '\u00A0 \uFEFF']) expect(refusal(() => cleanComment(raw))?.code, JSON.stringify(raw)).toBe('comment_empty');
  });

  it('counts graphemes, not code units', () => {
    const family = '👨‍👩‍👧‍👦'; // 11 UTF-16 units, one grapheme
    expect(cleanComment(family.repeat(500))).toHaveLength(family.length * 500);
    expect(refusal(() => cleanComment(family.repeat(501)))?.code).toBe('comment_too_long');
    expect(cleanComment('a'.repeat(500))).toHaveLength(500);
    expect(refusal(() => cleanComment('a'.repeat(501)))?.code).toBe('comment_too_long');
  });

  it('refuses control characters, line breaks, bidi overrides, lone surrogates and Zalgo', () => {
    for (const raw of ['a\u0000b', 'a\nb', 'a\tb', 'a\u0085b', 'evil\u202Etxt.exe', 'a\u2066b\u2069', 'a\uD800b', 'a\u2028b', `z${'\u0301'.repeat(40)}`]) {
      expect(refusal(() => cleanComment(raw))?.code, JSON.stringify(raw)).toBe('comment_invalid');
    }
  });
});

describe('blocked words', () => {
  it('folds width, case, ligatures and invisible characters', () => {
    expect(foldForMatching('ＢＡＤ')).toBe('bad');
    expect(foldForMatching('STRAẞE')).toBe('strasse');
    expect(foldForMatching('ﬁne')).toBe('fine');
    expect(foldForMatching('b\u200Bad')).toBe('bad');
  });

  it('matches whole words after normalisation', () => {
    const words = new BlockedWords(normalizeBlockedWords(['Bad', 'two words', 'c++']));
    for (const hit of ['bad', 'so BAD!', 'ｂａｄ day', 'b\u200Bad', 'say two   WORDS now', 'i like c++']) expect(words.find(hit), hit).not.toBeNull();
    for (const miss of ['badge', 'sinbad', 'two', 'wordsmith two']) expect(words.find(miss), miss).toBeNull();
  });

  it('matches words of unspaced scripts anywhere', () => {
    const words = new BlockedWords(['馬鹿']);
    expect(words.find('お前は馬鹿だ')).toBe('馬鹿');
  });

  it('validates the list', () => {
    expect(normalizeBlockedWords(['A', 'a', ' ', 'Ａ'])).toEqual(['a']);
    expect(refusal(() => normalizeBlockedWords(Array.from({ length: 201 }, (_, i) => `w${i}`)))?.code).toBe('validation_failed');
  });
});

describe('ChatThrottle', () => {
  it('holds slow mode for viewers, not for VIPs', () => {
    const t = new ChatThrottle();
    t.admit(1, 'viewer', 10, 0);
    expect(refusal(() => t.admit(1, 'viewer', 10, 4000))).toEqual({ code: 'slow_mode', retryAfterSeconds: 6 });
    t.admit(1, 'viewer', 10, 10_000);
    t.admit(2, 'vip', 10, 0);
    t.admit(2, 'vip', 10, 1);
  });

  it('rate-limits everyone but staff, per user', () => {
    const t = new ChatThrottle({ rateMessages: 3, rateWindowMs: 2000 });
    for (const at of [0, 1, 2]) t.admit(1, 'vip', 0, at);
    expect(refusal(() => t.admit(1, 'vip', 0, 3))?.code).toBe('chat_rate_limited');
    t.admit(1, 'vip', 0, 2001);
    for (let i = 0; i < 20; i++) t.admit(3, 'moderator', 0, i);
  });
});
