import { AppError } from '../errors.ts';
import { LIMITS, type Role } from '../protocol/constants.ts';
import { SlidingWindowLimiter } from '../security/rateLimiter.ts';
import { can } from './policy.ts';

// The one place that decides whether a comment's text is acceptable and whether
// its author may speak now. Pure functions and small stateful gates; chat.ts
// wires them to the socket and the store.

/** A grapheme built from more code points than this is "Zalgo" text, not writing: the longest emoji sequences use about 11. */
export const MAX_CODE_POINTS_PER_GRAPHEME = 16;
/** With `accountsOnly` on, accounts younger than this read but do not write (raid protection, Twitch's followers-only in spirit). */
export const ACCOUNTS_ONLY_MIN_AGE_MS = 10 * 60_000;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

// C0/C1 controls (newlines and tabs included: a comment is one line), lone
// surrogates, line/paragraph separators, and the bidi embeddings, overrides and
// isolates that let a comment reorder the text drawn after it.
const FORBIDDEN_CHARS = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/u;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\s]/gu;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Trims and checks a comment; returns the text to store or throws the refusal
 * (`comment_empty`, `comment_too_long`, `comment_invalid`). Content stays plain
 * text: nothing here escapes HTML because nothing ever renders it as HTML.
 */
export function cleanComment(raw: string): string {
  const content = raw.trim();
  if (content.replace(INVISIBLE, '').length === 0) throw new AppError('comment_empty', 'the comment is empty');
  if (FORBIDDEN_CHARS.test(content)) {
    throw new AppError('comment_invalid', 'comments may not contain control characters, line breaks or text-direction overrides');
  }
  // A grapheme is at least one UTF-16 unit: short strings can break neither limit.
  if (content.length > MAX_CODE_POINTS_PER_GRAPHEME) {
    let count = 0;
    for (const { segment } of graphemes.segment(content)) {
      if (++count > LIMITS.commentMaxGraphemes) {
        throw new AppError('comment_too_long', `comments are limited to ${LIMITS.commentMaxGraphemes} characters`);
      }
      if (segment.length > MAX_CODE_POINTS_PER_GRAPHEME && [...segment].length > MAX_CODE_POINTS_PER_GRAPHEME) {
        throw new AppError('comment_invalid', 'too many combining marks on one character');
      }
    }
  }
  return content;
}

/**
 * Unicode-aware matching form: compatibility-normalised (full-width, ligatures,
 * styled letters), case-folded (lower, upper, lower: ẞ and ß become ss, final
 * sigma becomes sigma), invisible characters removed and white space collapsed.
 */
export function foldForMatching(text: string): string {
  return text
    .replace(DEFAULT_IGNORABLE, '')
    .normalize('NFKC')
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * Validates a blocked-words list as a streamer or moderator sent it and returns
 * it in matching form, without duplicates. Throws `validation_failed`.
 */
export function normalizeBlockedWords(words: readonly string[]): string[] {
  if (words.length > LIMITS.blockedWordsMax) throw new AppError('validation_failed', `at most ${LIMITS.blockedWordsMax} blocked words`);
  const out = new Set<string>();
  for (const word of words) {
    const folded = foldForMatching(word);
    if (folded.length === 0) continue;
    if (folded.length > LIMITS.blockedWordMaxLength) {
      throw new AppError('validation_failed', `blocked words are limited to ${LIMITS.blockedWordMaxLength} characters once normalised`);
    }
    out.add(folded);
  }
  return [...out];
}

// Scripts written without spaces between words: a blocked word there is matched
// anywhere, since there is no word boundary to look for.
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const WORD_CHAR = '[\\p{L}\\p{N}\\p{M}]';

// Only syntax characters may be escaped in a `u` pattern.
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A compiled blocked-words list: whole-word matches on folded text. */
export class BlockedWords {
  readonly #pattern: RegExp | null;

  constructor(words: readonly string[]) {
    const folded = [...new Set(words.map(foldForMatching).filter((w) => w.length > 0))].sort((a, b) => b.length - a.length);
    const bounded = folded.filter((w) => !UNSPACED.test(w)).map(escapeRegExp);
    const anywhere = folded.filter((w) => UNSPACED.test(w)).map(escapeRegExp);
    const parts: string[] = [];
    if (bounded.length > 0) parts.push(`(?<!${WORD_CHAR})(?:${bounded.join('|')})(?!${WORD_CHAR})`);
    if (anywhere.length > 0) parts.push(`(?:${anywhere.join('|')})`);
    this.#pattern = parts.length > 0 ? new RegExp(parts.join('|'), 'u') : null;
  }

  /** The first blocked word in `text`, in folded form, or null. */
  find(text: string): string | null {
    if (!this.#pattern) return null;
    return this.#pattern.exec(foldForMatching(text))?.[0] ?? null;
  }
}

const compiled = new WeakMap<readonly string[], BlockedWords>();

/** Compiles each settings list once: settings objects are replaced, never mutated. */
export function blockedWordsOf(list: readonly string[]): BlockedWords {
  let words = compiled.get(list);
  if (!words) {
    words = new BlockedWords(list);
    compiled.set(list, words);
  }
  return words;
}

export interface ChatThrottleOptions {
  /** Comments per window per user, whatever the slow mode (staff exempt). */
  rateMessages?: number;
  rateWindowMs?: number;
}

/**
 * Per-room pacing of each user's comments: slow mode (streamer, moderators and
 * VIPs exempt) and the rate limit that always holds (streamer and moderators
 * exempt). Keyed by user, so a second tab does not double anyone's allowance.
 */
export class ChatThrottle {
  readonly #rate: SlidingWindowLimiter;
  readonly #lastAt = new Map<number, number>();
  #admitted = 0;

  constructor({ rateMessages = LIMITS.chatRateMessages, rateWindowMs = LIMITS.chatRateWindowMs }: ChatThrottleOptions = {}) {
    this.#rate = new SlidingWindowLimiter(rateMessages, rateWindowMs);
  }

  /** Records the comment if the user may send it now; otherwise throws `slow_mode` or `chat_rate_limited`. */
  admit(userId: number, role: Role, slowModeSeconds: number, now: number): void {
    if (slowModeSeconds > 0 && !can(role, 'skip_slow_mode')) {
      const last = this.#lastAt.get(userId);
      const wait = last === undefined ? 0 : last + slowModeSeconds * 1000 - now;
      if (wait > 0) {
        const retry = Math.ceil(wait / 1000);
        throw new AppError('slow_mode', `slow mode: one comment every ${slowModeSeconds} s; wait ${retry} s`, { retryAfterSeconds: retry });
      }
    }
    if (!can(role, 'skip_chat_rate_limit')) {
      const res = this.#rate.take(String(userId), now);
      if (!res.ok) {
        throw new AppError('chat_rate_limited', `at most ${this.#rate.limit} comments per ${this.#rate.windowMs / 1000} s`, {
          retryAfterSeconds: Math.ceil(res.retryAfterMs / 1000),
        });
      }
    }
    this.#lastAt.set(userId, now);
    if (++this.#admitted % 1000 === 0) this.#prune(now);
  }

  #prune(now: number): void {
    this.#rate.prune(now);
    const horizon = now - LIMITS.slowModeMaxSeconds * 1000;
    for (const [userId, at] of this.#lastAt) if (at <= horizon) this.#lastAt.delete(userId);
  }
}
