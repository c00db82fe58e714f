import { batch, signal } from '@preact/signals';
import type { ModerationLogEntry } from '@redred/api/protocol';

export function createModerationLogState() {
  const entries = signal<ModerationLogEntry[]>([]);
  const error = signal<string | null>(null);
  const loading = signal(false);
  return {
    entries,
    error,
    loading,
    loaded(list: ModerationLogEntry[]) {
      batch(() => {
        entries.value = list;
        error.value = null;
        loading.value = false;
      });
    },
    failed(message: string) {
      batch(() => {
        error.value = message;
        loading.value = false;
      });
    },
  };
}

export type ModerationLogState = ReturnType<typeof createModerationLogState>;
