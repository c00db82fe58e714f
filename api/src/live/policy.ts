import { getChannelRole, type Db } from '@redred/db';
import { AppError } from '../errors.ts';
import type { Role } from '../protocol/constants.ts';

/**
 * Everything a role may do on a channel. The keys of the table below; handlers
 * never compare roles themselves, they ask `can()`.
 */
export type Action =
  | 'start_stream'
  | 'end_stream'
  | 'watch'
  | 'comment'
  | 'highlighted_chat'
  | 'skip_slow_mode'
  | 'skip_chat_rate_limit'
  | 'skip_blocked_words'
  | 'skip_account_age'
  | 'delete_comment'
  | 'timeout'
  | 'kick'
  | 'ban'
  | 'unban'
  | 'add_moderator'
  | 'remove_moderator'
  | 'add_vip'
  | 'remove_vip'
  | 'update_chat_settings'
  | 'view_moderation_log'
  | 'view_moderation_lists'
  | 'view_viewer_list';

/**
 * Who a rule is about: a role, or `self` when the actor is the target (a
 * streamer or moderator deleting their own comment).
 */
export type Target = Role | 'self';

interface Rule {
  /** Roles that may perform the action at all. */
  readonly actors: readonly Role[];
  /** The action names another user (or their comment): the two target rules below apply. */
  readonly targeted: boolean;
  /** The actor may aim it at themselves (only deleting one's own comment). */
  readonly onSelf?: boolean;
}

const STAFF = ['streamer', 'moderator'] as const;
const ACCOUNTS = ['streamer', 'moderator', 'vip', 'viewer'] as const;

/**
 * THE permission table (issue 5), read by every handler. Rows without `targeted`
 * are plain capabilities; for targeted rows two rules hold on top of `actors`:
 * nobody acts on the streamer, and a moderator never acts on another moderator.
 */
export const POLICY: Readonly<Record<Action, Rule>> = {
  start_stream: { actors: ['streamer'], targeted: false },
  end_stream: { actors: ['streamer'], targeted: false },
  watch: { actors: [...ACCOUNTS, 'anonymous'], targeted: false },
  comment: { actors: ACCOUNTS, targeted: false },
  highlighted_chat: { actors: ['streamer', 'moderator', 'vip'], targeted: false },
  skip_slow_mode: { actors: ['streamer', 'moderator', 'vip'], targeted: false },
  skip_chat_rate_limit: { actors: STAFF, targeted: false },
  skip_blocked_words: { actors: STAFF, targeted: false },
  skip_account_age: { actors: ['streamer', 'moderator', 'vip'], targeted: false },
  delete_comment: { actors: STAFF, targeted: true, onSelf: true },
  timeout: { actors: STAFF, targeted: true },
  kick: { actors: STAFF, targeted: true },
  ban: { actors: STAFF, targeted: true },
  unban: { actors: STAFF, targeted: true },
  add_moderator: { actors: ['streamer'], targeted: true },
  remove_moderator: { actors: ['streamer'], targeted: true },
  add_vip: { actors: ['streamer'], targeted: true },
  remove_vip: { actors: ['streamer'], targeted: true },
  update_chat_settings: { actors: STAFF, targeted: false },
  view_moderation_log: { actors: STAFF, targeted: false },
  view_moderation_lists: { actors: STAFF, targeted: false },
  view_viewer_list: { actors: STAFF, targeted: false },
};

/**
 * May `actor` do `action` (to a user whose role is `target`)? Called without a
 * target for targeted actions it answers "could this role ever", which handlers
 * use to refuse early, before looking the target up.
 */
export function can(actor: Role, action: Action, target?: Target): boolean {
  const rule = POLICY[action];
  if (!rule.actors.includes(actor)) return false;
  if (!rule.targeted || target === undefined) return true;
  if (target === 'self') return rule.onSelf === true;
  if (target === 'streamer') return false;
  if (actor === 'moderator' && target === 'moderator') return false;
  return true;
}

/** `can()`, or a `forbidden` error that says which rule refused. */
export function assertCan(actor: Role, action: Action, target?: Target): void {
  if (can(actor, action, target)) return;
  let why: string;
  if (!POLICY[action].actors.includes(actor)) why = actor === 'anonymous' ? 'sign in first' : `a ${actor} may not ${action.replaceAll('_', ' ')}`;
  else if (target === 'self') why = 'you cannot do this to yourself';
  else if (target === 'streamer') why = 'nobody can act on the streamer';
  else why = 'a moderator cannot act on another moderator';
  throw new AppError('forbidden', why);
}

/** Who this user is on this channel, from the database. The client never says. */
export async function resolveRole(db: Db, channelId: number, userId: number | null): Promise<Role> {
  if (userId === null) return 'anonymous';
  if (userId === channelId) return 'streamer';
  return (await getChannelRole(db, channelId, userId)) ?? 'viewer';
}

/** Who someone is on the site (not on a channel): site admins run the server's community. */
export type SiteRole = 'admin' | 'user' | 'anonymous';

/** Site-wide actions; like `Action`, callers ask `canOnSite()`, never compare roles. */
export type SiteAction = 'view_admin' | 'end_any_stream' | 'manage_users' | 'manage_site_settings' | 'create_invites' | 'approve_streamers';

/** THE site table: every site action is for admins today; a new role (e.g. a site moderator) is a new column here. */
export const SITE_POLICY: Readonly<Record<SiteAction, readonly SiteRole[]>> = {
  view_admin: ['admin'],
  end_any_stream: ['admin'],
  manage_users: ['admin'],
  manage_site_settings: ['admin'],
  create_invites: ['admin'],
  approve_streamers: ['admin'],
};

export function canOnSite(role: SiteRole, action: SiteAction): boolean {
  return SITE_POLICY[action].includes(role);
}

/** Who may sign up (REGISTRATION) and who may stream (STREAMING). */
export type RegistrationMode = 'open' | 'invite' | 'closed';
export type StreamingMode = 'everyone' | 'approved';

/** May an account with these facts go live? Admins always may; under `approved`, only approved accounts. */
export function mayStream(mode: StreamingMode, who: { siteRole: SiteRole; approved: boolean }): boolean {
  if (who.siteRole === 'anonymous') return false;
  return mode === 'everyone' || who.siteRole === 'admin' || who.approved;
}
