import { useEffect, useState } from 'preact/hooks';
import type { RecordingInfo, ReplayChatBody } from '@redred/api/protocol';
import { formatDuration } from '../lib/format.ts';
import { restApi } from '../net/api.ts';

type ReplayComment = ReplayChatBody['comments'][number];

/**
 * The stream's chat beside its replay: the comments written up to the
 * playback position, newest at the bottom. The server places each comment in
 * the file (`mediaMs`), across the gaps a recorder restart closes up
 * (docs/recording.md).
 */
export function ChatReplay({ recording, positionMs }: { recording: RecordingInfo; positionMs: number }) {
  const [comments, setComments] = useState<ReplayComment[] | null>(null);
  useEffect(() => {
    let cancelled = false;
    restApi.replayChat(recording.id).then(
      (body) => !cancelled && setComments(body.comments),
      () => !cancelled && setComments([]),
    );
    return () => {
      cancelled = true;
    };
  }, [recording.id]);

  const shown = (comments ?? []).filter((c) => c.mediaMs <= positionMs);
  return (
    <section class="chat card" aria-label="Chat replay" data-testid="chat-replay">
      <header class="chat__head">
        <h2 class="chat__title">Chat replay</h2>
      </header>
      <ol class="chat__list">
        {shown.map((c) => (
          <li key={c.id} class="chat__msg" data-testid="replay-comment">
            <span class="muted">{formatDuration(c.mediaMs)}</span> <strong>{c.username}</strong> <span>{c.content}</span>
          </li>
        ))}
      </ol>
      {comments && comments.length === 0 ? <p class="muted">Nobody wrote in this stream's chat.</p> : null}
    </section>
  );
}
