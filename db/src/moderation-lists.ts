import type { Db } from './database.ts';

export interface ListedPerson {
  userId: number;
  username: string;
  since: number;
  reason: string;
  /** Timeouts: when it ends. */
  until: number | null;
}

export interface ModerationLists {
  moderators: ListedPerson[];
  vips: ListedPerson[];
  bans: ListedPerson[];
  timeouts: ListedPerson[];
}

/** A channel's moderators, VIPs, bans and running timeouts, newest first: the studio's lists. */
export async function channelModerationLists(db: Db, channelId: number, now: number): Promise<ModerationLists> {
  const [roles, bans, timeouts] = await Promise.all([
    db
      .selectFrom('channel_roles')
      .innerJoin('users', 'users.id', 'channel_roles.user_id')
      .select(['channel_roles.user_id as userId', 'users.username', 'channel_roles.created_at as since', 'channel_roles.role'])
      .where('channel_roles.channel_id', '=', channelId)
      .orderBy('channel_roles.created_at', 'desc')
      .execute(),
    db
      .selectFrom('channel_bans')
      .innerJoin('users', 'users.id', 'channel_bans.user_id')
      .select(['channel_bans.user_id as userId', 'users.username', 'channel_bans.created_at as since', 'channel_bans.reason'])
      .where('channel_bans.channel_id', '=', channelId)
      .orderBy('channel_bans.created_at', 'desc')
      .execute(),
    db
      .selectFrom('channel_restrictions')
      .innerJoin('users', 'users.id', 'channel_restrictions.user_id')
      .select(['channel_restrictions.user_id as userId', 'users.username', 'channel_restrictions.created_at as since', 'channel_restrictions.reason', 'channel_restrictions.expires_at as until'])
      .where('channel_restrictions.channel_id', '=', channelId)
      .where('channel_restrictions.kind', '=', 'timeout')
      .where('channel_restrictions.lifted_at', 'is', null)
      .where('channel_restrictions.expires_at', '>', now)
      .orderBy('channel_restrictions.expires_at', 'desc')
      .execute(),
  ]);
  const role = (r: 'moderator' | 'vip') => roles.filter((x) => x.role === r).map(({ userId, username, since }) => ({ userId, username, since, reason: '', until: null }));
  return {
    moderators: role('moderator'),
    vips: role('vip'),
    bans: bans.map((b) => ({ ...b, until: null })),
    timeouts: timeouts.map((t) => ({ ...t })),
  };
}
