import { batch, computed, signal } from '@preact/signals';
import type { UserRef, ViewerEntry, Role } from '@redred/api/protocol';

const ROLE_RANK: Record<Role, number> = { streamer: 0, moderator: 1, vip: 2, viewer: 3, anonymous: 4 };

function sorted(entries: Iterable<ViewerEntry>): ViewerEntry[] {
  return [...entries].sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role] || a.username.localeCompare(b.username));
}

/** The streamer's and moderators' live list: a `viewer_list` page, then `user_joined`/`user_left` deltas. */
export function createViewerListState() {
  const people = signal<ViewerEntry[]>([]);
  const anonymous = signal(0);
  /** Signed-in viewers the server has beyond the page we hold. */
  const totalSignedIn = signal(0);
  const loaded = signal(false);

  const byId = () => new Map(people.peek().map((p) => [p.id, p]));

  return {
    people,
    anonymous,
    totalSignedIn,
    loaded,
    count: computed(() => Math.max(totalSignedIn.value, people.value.length) + anonymous.value),
    replace(list: ViewerEntry[], total: number, anonymousCount: number) {
      batch(() => {
        people.value = sorted(list);
        totalSignedIn.value = total;
        anonymous.value = anonymousCount;
        loaded.value = true;
      });
    },
    joined(users: ViewerEntry[], anonymousJoined: number) {
      const map = byId();
      let added = 0;
      for (const u of users) {
        if (!map.has(u.id)) added++;
        map.set(u.id, u);
      }
      batch(() => {
        people.value = sorted(map.values());
        totalSignedIn.value += added;
        anonymous.value += anonymousJoined;
      });
    },
    left(users: UserRef[], anonymousLeft: number) {
      const map = byId();
      let removed = 0;
      for (const u of users) if (map.delete(u.id)) removed++;
      batch(() => {
        people.value = sorted(map.values());
        totalSignedIn.value = Math.max(0, totalSignedIn.peek() - removed);
        anonymous.value = Math.max(0, anonymous.peek() - anonymousLeft);
      });
    },
    setRole(userId: number, role: Role) {
      const list = people.peek();
      if (!list.some((p) => p.id === userId)) return;
      people.value = sorted(list.map((p) => (p.id === userId ? { ...p, role } : p)));
    },
  };
}

export type ViewerListState = ReturnType<typeof createViewerListState>;
