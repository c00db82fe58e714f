import type { ReadonlySignal } from '@preact/signals';
import type { RoomNotice } from '../state/live-room.ts';

/** The outcome of the last moderation action (or an error the server sent on its own). */
export function Toast({ notice }: { notice: ReadonlySignal<RoomNotice | null> }) {
  const n = notice.value;
  return (
    <div class="toast-region" aria-live="polite" aria-atomic="true">
      {n ? (
        <div key={n.id} class={`toast toast--${n.tone}`} data-testid="toast">
          {n.text}
        </div>
      ) : null}
    </div>
  );
}
