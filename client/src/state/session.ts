import { signal } from '@preact/signals';
import type { Credentials } from '@redred/api/protocol';
import { ApiError, restApi } from '../net/api.ts';
import type { RoomUser } from './stream.ts';

/** The signed-in account: `undefined` while we ask the server, `null` for a guest. */
export function createSessionState() {
  const user = signal<RoomUser | null | undefined>(undefined);
  return {
    user,
    async load(): Promise<void> {
      try {
        user.value = (await restApi.me()).user;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) user.value = null;
        else if (user.peek() === undefined) user.value = null;
      }
    },
    async register(credentials: Credentials): Promise<void> {
      user.value = (await restApi.register(credentials)).user;
    },
    async login(credentials: Credentials): Promise<void> {
      user.value = (await restApi.login(credentials)).user;
    },
    async logout(): Promise<void> {
      await restApi.logout();
      user.value = null;
    },
  };
}

export type SessionState = ReturnType<typeof createSessionState>;
