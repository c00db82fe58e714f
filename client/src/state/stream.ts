import { batch, computed, signal } from '@preact/signals';
import type { ServerMessageOf, StreamInfo, Role } from '@redred/api/protocol';

export interface RoomUser {
  id: number;
  username: string;
}

/** What this page knows about the stream and about who we are in it. */
export function createStreamState() {
  const info = signal<StreamInfo | null>(null);
  const role = signal<Role>('anonymous');
  const me = signal<RoomUser | null>(null);
  const viewers = signal(0);
  const peakViewers = signal(0);
  /** Server clock minus ours, so countdowns and "live for" use the server's times. */
  const clockOffsetMs = signal(0);
  const ended = signal<{ reason: string; endedAt: number } | null>(null);

  const status = computed(() => (ended.value ? 'ended' : (info.value?.status ?? 'waiting')));
  const isStaff = computed(() => role.value === 'streamer' || role.value === 'moderator');

  return {
    info,
    role,
    me,
    viewers,
    peakViewers,
    clockOffsetMs,
    ended,
    status,
    isStaff,
    /** Server time (ms since the epoch) → our clock. */
    toLocalTime: (serverMs: number) => serverMs - clockOffsetMs.peek(),
    established(msg: ServerMessageOf<'connection_established'>, receivedAt: number) {
      batch(() => {
        info.value = msg.stream;
        role.value = msg.role;
        me.value = msg.user;
        viewers.value = msg.stream.viewers;
        peakViewers.value = msg.stream.peakViewers;
        clockOffsetMs.value = msg.serverTime - receivedAt;
        if (msg.stream.status === 'ended' && msg.stream.endedAt !== null) ended.value = ended.peek() ?? { reason: 'ended', endedAt: msg.stream.endedAt };
      });
    },
    /** From REST, before the socket answers (or when it never will: an ended stream). */
    prefill(stream: StreamInfo) {
      if (info.peek() !== null) return;
      batch(() => {
        info.value = stream;
        viewers.value = stream.viewers;
        peakViewers.value = stream.peakViewers;
        if (stream.status === 'ended') ended.value = { reason: stream.endReason ?? 'ended', endedAt: stream.endedAt ?? stream.createdAt };
      });
    },
    markLive(startedAt: number) {
      const current = info.peek();
      if (current) info.value = { ...current, status: 'live', startedAt };
    },
    markEnded(reason: string, endedAt: number) {
      batch(() => {
        ended.value = { reason, endedAt };
        viewers.value = 0;
        const current = info.peek();
        if (current) info.value = { ...current, status: 'ended', endedAt };
      });
    },
    /** The live stream's publisher dropped (the stream ends at `until` unless it returns) or is back. */
    publisherStatus(status: 'reconnecting' | 'publishing', until: number | null) {
      const current = info.peek();
      if (!current) return;
      const { reconnectingUntil: _gone, ...rest } = current;
      info.value = status === 'reconnecting' && until !== null ? { ...rest, reconnectingUntil: until } : rest;
    },
    /** The server's recorder started or stopped (the viewers' badge); `reason` when it stopped for good (disk_low). */
    setRecording(recording: boolean, reason?: string) {
      const current = info.peek();
      if (!current) return;
      const { recording: _was, recordingStopReason: _why, ...rest } = current;
      info.value = recording ? { ...rest, recording: true } : reason ? { ...rest, recordingStopReason: reason } : rest;
    },
    setDetails(title: string, description: string) {
      const current = info.peek();
      if (current) info.value = { ...current, title, description };
    },
    setViewers(count: number, peak: number) {
      batch(() => {
        viewers.value = count;
        peakViewers.value = peak;
      });
    },
  };
}

export type StreamState = ReturnType<typeof createStreamState>;
