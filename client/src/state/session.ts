import { signal } from '@preact/signals';
import type { RegisterRequest } from '@redred/api/protocol';
import type { Credentials } from '@redred/api/protocol';
import { ApiError, restApi } from '../net/api.ts';
import type { RoomUser } from './stream.ts';

/** The signed-in account: `undefined` while we ask the server, `null` for a guest. */
export function createSessionState() {
  const user = signal<RoomUser | null | undefined>(undefined);
  /** A site admin: the header shows the admin page. The server decides on every admin request anyway. */
  const admin = signal(false);
  const refreshAdmin = async () => {
    admin.value = user.peek() ? (await restApi.me().catch(() => ({ admin: false }))).admin : false;
  };
  return {
    user,
    admin,
    async load(): Promise<void> {
      try {
        const me = await restApi.me();
        user.value = me.user;
        admin.value = me.admin;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) user.value = null;
        else if (user.peek() === undefined) user.value = null;
      }
    },
    async register(credentials: RegisterRequest): Promise<void> {
      user.value = (await restApi.register(credentials)).user;
      await refreshAdmin();
    },
    async login(credentials: Credentials): Promise<void> {
      user.value = (await restApi.login(credentials)).user;
      await refreshAdmin();
    },
    async logout(): Promise<void> {
      await restApi.logout();
      user.value = null;
      admin.value = false;
    },
  };
}

export type SessionState = ReturnType<typeof createSessionState>;
