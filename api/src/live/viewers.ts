import type { Role } from '../protocol/constants.ts';
import type { AuthUser } from '../plugins/auth.ts';
import type { UserRef, ViewerEntry } from '../protocol/common.ts';

/** What counting needs of a watcher: a socket (LiveConnection) or a WHEP/WHIP session. */
export interface Watcher {
  readonly user: AuthUser | null;
  readonly role: Role;
  /** `u:<id>` for accounts, `a:<id>` for anonymous watchers: the unit viewers are counted in. */
  readonly personKey: string;
}

interface Person {
  entry: ViewerEntry | null;
  sockets: number;
}

export interface PresenceChange {
  joined: ViewerEntry[];
  left: UserRef[];
  anonymousJoined: number;
  anonymousLeft: number;
}

/**
 * Counts people, not sockets: one account in two tabs is one viewer; each
 * anonymous connection is one viewer; the streamer is not a viewer.
 * Pending joins/leaves accumulate until `drainChanges()` (batched announcements).
 */
export class ViewerCounter {
  readonly #people = new Map<string, Person>();
  #anonymous = 0;
  #pending: PresenceChange = { joined: [], left: [], anonymousJoined: 0, anonymousLeft: 0 };

  get count(): number {
    return this.#people.size;
  }

  get anonymousCount(): number {
    return this.#anonymous;
  }

  /** Returns true when this connection brings a new person. */
  add(conn: Watcher, now: number): boolean {
    if (conn.role === 'streamer') return false;
    const key = conn.personKey;
    const person = this.#people.get(key);
    if (person) {
      person.sockets++;
      return false;
    }
    const entry = conn.user ? { id: conn.user.id, username: conn.user.username, role: conn.role, since: now } : null;
    this.#people.set(key, { entry, sockets: 1 });
    if (entry) this.#pending.joined.push(entry);
    else {
      this.#anonymous++;
      this.#pending.anonymousJoined++;
    }
    return true;
  }

  /** Returns true when the person's last socket left. */
  remove(conn: Watcher): boolean {
    if (conn.role === 'streamer') return false;
    const key = conn.personKey;
    const person = this.#people.get(key);
    if (!person) return false;
    person.sockets--;
    if (person.sockets > 0) return false;
    this.#people.delete(key);
    if (person.entry) {
      const joinedIdx = this.#pending.joined.findIndex((e) => e.id === person.entry!.id);
      // Joined and left within one batch: announce neither.
      if (joinedIdx >= 0) this.#pending.joined.splice(joinedIdx, 1);
      else this.#pending.left.push({ id: person.entry.id, username: person.entry.username, role: person.entry.role });
    } else {
      this.#anonymous--;
      this.#pending.anonymousLeft++;
    }
    return true;
  }

  setRole(userId: number, role: Role): void {
    const person = this.#people.get(`u:${userId}`);
    if (person?.entry) person.entry.role = role;
  }

  /** Everyone counted, by person key: the entry of a signed-in viewer, null for an anonymous one. */
  people(): [string, ViewerEntry | null][] {
    return [...this.#people].map(([key, person]) => [key, person.entry]);
  }

  /** The entry of a signed-in person watching through this process. */
  entry(userId: number): ViewerEntry | undefined {
    return this.#people.get(`u:${userId}`)?.entry ?? undefined;
  }

  has(userId: number): boolean {
    return this.#people.has(`u:${userId}`);
  }

  drainChanges(): PresenceChange {
    const out = this.#pending;
    this.#pending = { joined: [], left: [], anonymousJoined: 0, anonymousLeft: 0 };
    return out;
  }

  /** Signed-in viewers, sorted by name, optionally filtered by a name prefix/substring. */
  list(opts: { search?: string | undefined; offset?: number | undefined; limit?: number | undefined }): { total: number; viewers: ViewerEntry[] } {
    const needle = opts.search?.toLowerCase();
    const all: ViewerEntry[] = [];
    for (const p of this.#people.values()) {
      if (p.entry && (!needle || p.entry.username.toLowerCase().includes(needle))) all.push(p.entry);
    }
    all.sort((a, b) => a.username.localeCompare(b.username));
    const offset = opts.offset ?? 0;
    const limit = opts.limit ?? 50;
    return { total: all.length, viewers: all.slice(offset, offset + limit) };
  }
}
