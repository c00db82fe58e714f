import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { WireComment } from '@redred/api/protocol';
import { LIMITS } from '@redred/api/protocol/constants';
import { emoteUrl, emotesAllowed, splitEmotes } from '../lib/emotes.ts';
import { formatClock, formatRemaining, graphemeLength } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';
import { Link } from '../router.tsx';
import type { ChatLine } from '../state/chat.ts';
import type { LiveRoom } from '../state/live-room.ts';
import { Icon } from './Icon.tsx';
import { RoleBadge } from './RoleBadge.tsx';

/** Pixels from the bottom within which the list keeps following new lines. */
const STICK_THRESHOLD_PX = 32;
const QUICK_TIMEOUT_SECONDS = 600;

export function ChatPanel({ room, loginHref }: { room: LiveRoom; loginHref: string }) {
  const settings = room.chat.settings.value;
  return (
    <section class="chat card" aria-label="Chat" data-testid="chat">
      <header class="chat__head">
        <h2 class="chat__title">Chat</h2>
        <div class="chat__modes">
          {settings.slowModeSeconds > 0 ? (
            <span class="pill" data-testid="slow-mode" title="Slow mode">
              <Icon name="clock" size={14} /> {settings.slowModeSeconds} s
            </span>
          ) : null}
          {settings.accountsOnly ? <span class="pill">Accounts only</span> : null}
        </div>
      </header>
      <ChatList room={room} />
      <ChatComposer room={room} loginHref={loginHref} />
    </section>
  );
}

function ChatList({ room }: { room: LiveRoom }) {
  const lines = room.chat.lines.value;
  const canModerate = room.stream.isStaff.value;
  const me = room.stream.me.value;
  const listRef = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const [unseen, setUnseen] = useState(false);

  // Follows new lines only when the reader is at the bottom: scrolling up to read is never yanked away.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else setUnseen(true);
  }, [lines]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
    if (stick.current) setUnseen(false);
  };

  const jumpToLatest = () => {
    const el = listRef.current;
    if (!el) return;
    stick.current = true;
    el.scrollTop = el.scrollHeight;
    setUnseen(false);
  };

  return (
    <div class="chat__body">
      <ol class="chat__list" ref={listRef} onScroll={onScroll} role="log" aria-label="Chat messages" data-testid="chat-list" tabIndex={0}>
        {lines.length === 0 ? <li class="chat__empty">No messages yet. Say hello!</li> : null}
        {lines.map((line) => (
          <ChatLineView key={line.key} line={line} room={room} canModerate={canModerate} myId={me?.id ?? null} />
        ))}
      </ol>
      {unseen ? (
        <button type="button" class="chat__jump btn btn--sm btn--primary" onClick={jumpToLatest}>
          New messages ↓
        </button>
      ) : null}
    </div>
  );
}

function ChatLineView({ line, room, canModerate, myId }: { line: ChatLine; room: LiveRoom; canModerate: boolean; myId: number | null }) {
  if (line.kind === 'notice') {
    return (
      <li class="msg msg--notice" data-testid="chat-notice">
        {line.text}
      </li>
    );
  }
  return <ChatComment comment={line.comment} room={room} canModerate={canModerate} mine={line.comment.author.id === myId} />;
}

function ChatComment({ comment, room, canModerate, mine }: { comment: WireComment; room: LiveRoom; canModerate: boolean; mine: boolean }) {
  const { author } = comment;
  const parts = splitEmotes(comment.content, emotesAllowed(author.role));
  const canTimeout = canModerate && !mine && author.role !== 'streamer';
  return (
    <li
      class={`msg msg--${author.role}${comment.highlighted ? ' msg--highlight' : ''}`}
      data-testid="chat-message"
      data-comment-id={comment.id}
      data-author={author.username}
    >
      <span class="msg__meta">
        <time class="msg__time" dateTime={new Date(comment.createdAt).toISOString()}>
          {formatClock(comment.createdAt)}
        </time>
        <RoleBadge role={author.role} />
        <span class="msg__author">{author.username}</span>
      </span>{' '}
      <span class="msg__text" data-testid="chat-text">
        {parts.map((part, i) =>
          part.kind === 'text' ? (
            part.text
          ) : (
            <img key={i} class="emote" src={emoteUrl(part.name)} alt={`:${part.name}:`} title={`:${part.name}:`} width={22} height={22} data-testid="emote" />
          ),
        )}
      </span>
      {canModerate ? (
        <span class="msg__actions">
          <button
            type="button"
            class="iconbtn iconbtn--danger"
            aria-label={`Delete message from ${author.username}`}
            title="Delete message"
            data-testid="delete-comment"
            onClick={() => void room.deleteComment(comment.id)}
          >
            <Icon name="trash" size={16} />
          </button>
          {canTimeout ? (
            <button
              type="button"
              class="iconbtn"
              aria-label={`Time out ${author.username} for 10 minutes`}
              title="Time out 10 min"
              data-testid="timeout-author"
              onClick={() => void room.timeout(author, QUICK_TIMEOUT_SECONDS)}
            >
              <Icon name="clock" size={16} />
            </button>
          ) : null}
        </span>
      ) : null}
    </li>
  );
}

function ChatComposer({ room, loginHref }: { room: LiveRoom; loginHref: string }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const me = room.stream.me.value;
  const ended = room.stream.status.value === 'ended';
  const online = room.connection.status.value === 'open';
  const settings = room.chat.settings.value;
  const refusal = room.chat.refusal.value;
  const cooldownUntil = room.chat.cooldownUntil.value;
  const timedOutUntil = room.chat.timedOutUntil.value;
  const until = Math.max(cooldownUntil, timedOutUntil);
  const now = useNow(250, until > Date.now());
  const timedOut = timedOutUntil > now;
  const cooling = cooldownUntil > now;
  const length = graphemeLength(text.trim());
  const tooLong = length > LIMITS.commentMaxGraphemes;

  if (ended) {
    return <p class="chat__closed">Chat is closed: the stream has ended.</p>;
  }
  if (!me) {
    return (
      <p class="chat__closed" data-testid="chat-login-prompt">
        <Link href={loginHref}>Log in</Link> or <Link href={loginHref.replace('/login', '/signup')}>sign up</Link> to chat.
      </p>
    );
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    const content = text.trim();
    if (!content || sending || cooling || timedOut || tooLong) return;
    setSending(true);
    const ok = await room.comment(content);
    setSending(false);
    if (ok) setText('');
  };

  let status: string | null = null;
  if (timedOut) status = `You are timed out for ${formatRemaining(timedOutUntil - now)}${room.chat.timeoutReason.value ? ` (${room.chat.timeoutReason.value})` : ''}.`;
  else if (cooling) status = refusal?.code === 'slow_mode' || settings.slowModeSeconds > 0 ? `Slow mode: you can send again in ${formatRemaining(cooldownUntil - now)}.` : `Too fast: wait ${formatRemaining(cooldownUntil - now)}.`;
  else if (refusal && refusal.code !== 'slow_mode' && refusal.code !== 'timed_out') status = refusal.message;

  return (
    <form class="chat__composer" onSubmit={submit}>
      <div class="chat__status" role="status" aria-live="polite" data-testid="chat-refusal">
        {status}
      </div>
      <div class="chat__inputrow">
        <label class="visually-hidden" for="chat-input">
          Send a message
        </label>
        <input
          id="chat-input"
          class="chat__input"
          data-testid="chat-input"
          autocomplete="off"
          enterKeyHint="send"
          placeholder={timedOut ? 'Timed out' : 'Send a message'}
          value={text}
          disabled={timedOut}
          aria-invalid={tooLong || undefined}
          onInput={(e) => {
            setText(e.currentTarget.value);
            if (refusal) room.chat.clearRefusal();
          }}
        />
        <button type="submit" class="btn btn--primary" data-testid="chat-send" disabled={!online || sending || cooling || timedOut || tooLong || text.trim() === ''}>
          {cooling ? formatRemaining(cooldownUntil - now) : 'Send'}
        </button>
      </div>
      {length > LIMITS.commentMaxGraphemes - 100 ? (
        <p class={`chat__counter${tooLong ? ' chat__counter--over' : ''}`}>
          {length}/{LIMITS.commentMaxGraphemes}
        </p>
      ) : null}
    </form>
  );
}
