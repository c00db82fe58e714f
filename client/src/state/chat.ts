import { batch, signal } from '@preact/signals';
import type { ChatSettings, WireComment } from '@redred/api/protocol';
import type { RequestError } from '../net/live-connection.ts';

/** Lines kept in memory and in the DOM: older ones scroll away for good. */
export const CHAT_LINES_KEPT = 300;

export type ChatLine =
  | { kind: 'comment'; key: string; comment: WireComment }
  /** A line from the room itself: "x was timed out", "y is now a moderator". */
  | { kind: 'notice'; key: string; text: string; at: number };

export interface ChatRefusal {
  code: RequestError['code'];
  message: string;
}

export function createChatState() {
  let noticeSeq = 0;
  const lines = signal<ChatLine[]>([]);
  const settings = signal<ChatSettings>({ slowModeSeconds: 0, blockedWords: [], accountsOnly: false });
  /** Local time until which slow mode holds our next comment back. */
  const cooldownUntil = signal(0);
  /** Local time until which we are timed out. */
  const timedOutUntil = signal(0);
  const timeoutReason = signal('');
  /** Why the last comment was refused (cleared by the next success). */
  const refusal = signal<ChatRefusal | null>(null);

  const keep = (next: ChatLine[]) => (next.length > CHAT_LINES_KEPT ? next.slice(next.length - CHAT_LINES_KEPT) : next);

  return {
    lines,
    settings,
    cooldownUntil,
    timedOutUntil,
    timeoutReason,
    refusal,
    /** `chat_history` on (re)join: replaces what we had, the server's copy is the truth. */
    setHistory(comments: WireComment[]) {
      lines.value = keep(comments.map((comment) => ({ kind: 'comment', key: `c${comment.id}`, comment })));
    },
    /** New comments (`comment` or a `comments` batch), oldest first; one already shown is skipped. */
    add(...comments: WireComment[]) {
      const current = lines.peek();
      const shown = new Set(current.flatMap((l) => (l.kind === 'comment' ? [l.comment.id] : [])));
      const fresh = comments.filter((c) => !shown.has(c.id));
      if (fresh.length === 0) return;
      lines.value = keep([...current, ...fresh.map((comment) => ({ kind: 'comment' as const, key: `c${comment.id}`, comment }))]);
    },
    remove(commentIds: number[]) {
      const gone = new Set(commentIds);
      lines.value = lines.peek().filter((l) => l.kind !== 'comment' || !gone.has(l.comment.id));
    },
    notice(text: string, at: number) {
      lines.value = keep([...lines.peek(), { kind: 'notice', key: `n${++noticeSeq}`, text, at }]);
    },
    /** A comment went through; slow mode starts counting for non-staff. */
    sent(now: number, exemptFromSlowMode: boolean) {
      batch(() => {
        refusal.value = null;
        const slow = settings.peek().slowModeSeconds;
        if (slow > 0 && !exemptFromSlowMode) cooldownUntil.value = now + slow * 1000;
      });
    },
    refused(error: RequestError, now: number) {
      batch(() => {
        const retryMs = (error.retryAfterSeconds ?? 0) * 1000;
        if (error.code === 'slow_mode' || error.code === 'chat_rate_limited' || error.code === 'rate_limited') {
          cooldownUntil.value = now + Math.max(retryMs, 1000);
        }
        if (error.code === 'timed_out' && retryMs > 0) timedOutUntil.value = now + retryMs;
        refusal.value = { code: error.code, message: error.message };
      });
    },
    timedOut(untilLocal: number, reason: string) {
      batch(() => {
        timedOutUntil.value = untilLocal;
        timeoutReason.value = reason;
      });
    },
    clearRefusal() {
      refusal.value = null;
    },
  };
}

export type ChatState = ReturnType<typeof createChatState>;
