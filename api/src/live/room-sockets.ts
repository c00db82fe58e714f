import type { ServerMessage } from '../protocol/server-messages.ts';
import type { Audience } from './bus.ts';
import type { LiveConnection } from './connection.ts';
import { can } from './policy.ts';
import type { Watcher } from './viewers.ts';

/**
 * Someone in the room without a socket: a WHIP publisher or a WHEP viewer.
 * Counted like a socket, closed with the room, and closed when its user is
 * kicked or banned.
 */
export interface RoomMember extends Watcher {
  readonly id: string;
  close(reason: 'kicked' | 'banned' | 'room_closed'): void;
}

/**
 * A room's sockets and socketless members in this process, and the sending of
 * a message to an audience of the sockets. The room decides who joins, leaves
 * and hears what; this holds them and closes them with the room.
 */
export class RoomSockets {
  readonly #connections = new Map<string, LiveConnection>();
  readonly #members = new Map<string, RoomMember>();
  /** The 'chat' audience: sockets that received the chat history. */
  readonly #inChat: (c: LiveConnection) => boolean;

  constructor(inChat: (c: LiveConnection) => boolean) {
    this.#inChat = inChat;
  }

  get size(): number {
    return this.#connections.size;
  }

  values(): IterableIterator<LiveConnection> {
    return this.#connections.values();
  }

  get(id: string): LiveConnection | undefined {
    return this.#connections.get(id);
  }

  add(conn: LiveConnection): void {
    this.#connections.set(conn.id, conn);
  }

  delete(conn: LiveConnection): boolean {
    return this.#connections.delete(conn.id);
  }

  addMember(member: RoomMember): void {
    this.#members.set(member.id, member);
  }

  deleteMember(member: RoomMember): boolean {
    return this.#members.delete(member.id);
  }

  streamer(): LiveConnection | undefined {
    for (const c of this.#connections.values()) if (c.role === 'streamer') return c;
    return undefined;
  }

  /** The streamer is here: their socket (browser studio), or their encoder (WHIP). */
  streamerPresent(): boolean {
    if (this.streamer()) return true;
    for (const m of this.#members.values()) if (m.role === 'streamer') return true;
    return false;
  }

  close(closeCode: number, reason: string): void {
    for (const c of this.#connections.values()) c.close(closeCode, reason);
    this.#connections.clear();
    for (const m of [...this.#members.values()]) m.close('room_closed');
    this.#members.clear();
  }

  send(message: ServerMessage, audience: Audience): void {
    switch (audience.to) {
      case 'all':
        return this.sendWhere(message, () => true);
      case 'chat':
        return this.sendWhere(message, this.#inChat);
      case 'staff':
        return this.sendWhere(message, isStaff);
      case 'all_but':
        return this.sendWhere(message, (c) => c.id !== audience.connectionId);
      case 'connections': {
        const data = JSON.stringify(message);
        for (const id of audience.ids) this.#connections.get(id)?.sendRaw(data);
        return;
      }
      default: {
        const unknown: never = audience;
        throw new Error(`unknown audience ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Serialises once for every receiver. */
  sendWhere(message: ServerMessage, filter: (c: LiveConnection) => boolean): void {
    let data: string | undefined;
    for (const c of this.#connections.values()) {
      if (!filter(c)) continue;
      data ??= JSON.stringify(message);
      c.sendRaw(data);
    }
  }

  /** The accounts holding sockets or members here (the streamer's own encoder aside), with their names. */
  accounts(): Map<number, string> {
    const out = new Map<number, string>();
    for (const c of this.#connections.values()) if (c.user && !c.closed) out.set(c.user.id, c.user.username);
    for (const m of this.#members.values()) if (m.user && m.role !== 'streamer') out.set(m.user.id, m.user.username);
    return out;
  }

  connectionsOfUser(userId: number): LiveConnection[] {
    return [...this.#connections.values()].filter((c) => c.user?.id === userId);
  }

  /** The channel's own account is never restricted: its encoder is never closed here. */
  membersOfUser(userId: number): RoomMember[] {
    return [...this.#members.values()].filter((m) => m.user?.id === userId && m.role !== 'streamer');
  }
}

/** The streamer and moderators: who sees joins, leaves and the full chat settings. */
export function isStaff(c: LiveConnection): boolean {
  return can(c.role, 'update_chat_settings');
}
