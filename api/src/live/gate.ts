import { activeRestrictionsOf, activeRestrictionUntil, exclusionsOf, findUserById, isBanned, readSiteSettings, serializeChannelWrites, standingSessions, useInvite, usernameKey, type ActiveRestriction, type Db, type Exclusion } from '@redred/db';
import { AppError } from '../errors.ts';
import { hashToken as hashInviteCode } from '../auth/tokens.ts';
import type { AuthUser } from '../plugins/auth.ts';
import type { ChatSettings } from '../protocol/common.ts';
import { CLOSE_CODES, type Role } from '../protocol/constants.ts';
import { ACCOUNTS_ONLY_MIN_AGE_MS, blockedWordsOf, ChatThrottle } from './chat-rules.ts';
import { assertCan, can, canOnSite, mayStream, resolveRole, type Action, type RegistrationMode, type SiteAction, type SiteRole, type StreamingMode } from './policy.ts';

export type Admission = { ok: true; role: Role } | { ok: false; error: AppError; closeCode: number };

export interface Person {
  id: number;
  username: string;
}

export interface Target extends Person {
  role: Role;
}

/** Who asks, as the gate needs to know them: the socket's account and its role on the channel. */
export interface Requester {
  readonly user: AuthUser | null;
  readonly role: Role;
}

/** What the comment check needs about an author, read once and kept briefly. */
interface AuthorFacts {
  timedOutUntil: number;
  accountCreatedAt: number;
  loadedAt: number;
}

/** Cached author facts are re-read after this long, so a change made outside this process (the CLI) is seen. */
const AUTHOR_FACTS_TTL_MS = 30_000;
const MAX_CACHED_AUTHORS = 10_000;

/**
 * THE moderation gate of one channel: every "may this user do this now?" is
 * answered here, from the policy table (policy.ts) and the stored restrictions
 * (bans, kicks, timeouts) plus the channel's chat settings. The WebSocket
 * admission, chat, moderation actions and the comment writer's commit all ask
 * it; none of them compares roles or reads restrictions itself.
 */
export class ModerationGate {
  readonly channelId: number;
  readonly #db: Db;
  readonly #throttle = new ChatThrottle();
  readonly #facts = new Map<number, AuthorFacts>();
  readonly #site: SiteGate;

  constructor(db: Db, channelId: number, site: SiteGate) {
    this.#db = db;
    this.channelId = channelId;
    this.#site = site;
  }

  /** May this user open a socket on the channel now, and as what? Bans and kicks refuse; the role comes from the database. */
  async admit(user: AuthUser | null, now: number): Promise<Admission> {
    if (user && user.id !== this.channelId) {
      if (await isBanned(this.#db, this.channelId, user.id)) {
        return { ok: false, error: new AppError('banned', 'you are banned from this channel'), closeCode: CLOSE_CODES.banned };
      }
      const kickedUntil = await activeRestrictionUntil(this.#db, this.channelId, user.id, 'kick', now);
      if (kickedUntil !== null) {
        const retry = Math.ceil((kickedUntil - now) / 1000);
        return { ok: false, error: new AppError('kicked', `you were kicked; you may rejoin in ${retry} s`, { retryAfterSeconds: retry }), closeCode: CLOSE_CODES.kicked };
      }
    }
    return { ok: true, role: await resolveRole(this.#db, this.channelId, user?.id ?? null) };
  }

  /** A capability of the socket's role (publish, end the stream, see the viewer list…); `forbidden` otherwise. */
  assert(requester: Requester, action: Action): void {
    assertCan(requester.role, action);
  }

  /** Sending media to the channel: the streamer's role here, and the site's STREAMING rule (asked each time: an approval revoked counts). */
  async assertPublisher(requester: Requester): Promise<void> {
    assertCan(requester.role, 'start_stream');
    if (!requester.user) throw new AppError('forbidden', 'sign in first');
    await this.#site.assertMayStream(requester.user);
  }

  /** The requester's account, if their role could ever do `action`: the cheap refusal before any transaction. */
  actor(requester: Requester, action: Action): Person {
    assertCan(requester.role, action);
    if (!requester.user) throw new AppError('forbidden', 'sign in first');
    return requester.user;
  }

  /**
   * Inside the action's transaction: loads the target and checks the policy on
   * the roles stored now (a role revoked a moment ago counts), so a refusal
   * rolls the transaction back. First in the transaction: the channel's writes
   * take turns from here (`serializeChannelWrites`).
   */
  async authorize(trx: Db, actor: Person, action: Action, targetId: number): Promise<Target> {
    await serializeChannelWrites(trx, this.channelId);
    const user = await findUserById(trx, targetId);
    if (!user) throw new AppError('user_not_found', `no user ${targetId}`);
    const [actorRole, targetRole] = await Promise.all([resolveRole(trx, this.channelId, actor.id), resolveRole(trx, this.channelId, user.id)]);
    assertCan(actorRole, action, user.id === actor.id ? 'self' : targetRole);
    return { id: user.id, username: user.username, role: targetRole };
  }

  /** Re-reads the actor's stored role for an untargeted action (chat settings). */
  async authorizeOwn(trx: Db, actor: Person, action: Action): Promise<void> {
    await serializeChannelWrites(trx, this.channelId);
    assertCan(await resolveRole(trx, this.channelId, actor.id), action);
  }

  /**
   * May this socket post `content` now? Role, timeout, accounts-only, blocked
   * words, then slow mode and the rate limit (which count the comment, so they
   * come last). Returns whether the comment is highlighted.
   */
  async admitComment(requester: Requester, content: string, settings: () => ChatSettings, now: () => number): Promise<{ author: Person; highlighted: boolean }> {
    const user = requester.user;
    if (!user || !can(requester.role, 'comment')) throw new AppError('unauthorized', 'sign in to comment');
    const facts = await this.#authorFacts(user.id, now());
    // Role, settings and clock are read after the await: a moderation action may have landed meanwhile.
    const at = now();
    const role = requester.role;
    const current = settings();
    if (role !== 'streamer' && facts.timedOutUntil > at) throw timedOut(facts.timedOutUntil, at);
    if (current.accountsOnly && !can(role, 'skip_account_age') && at - facts.accountCreatedAt < ACCOUNTS_ONLY_MIN_AGE_MS) {
      const retry = Math.ceil((facts.accountCreatedAt + ACCOUNTS_ONLY_MIN_AGE_MS - at) / 1000);
      throw new AppError('accounts_only', `chat is for established accounts; yours can comment in ${retry} s`, { retryAfterSeconds: retry });
    }
    if (!can(role, 'skip_blocked_words') && blockedWordsOf(current.blockedWords).find(content) !== null) {
      throw new AppError('blocked_word', 'this comment contains a word blocked on this channel');
    }
    this.#throttle.admit(user.id, role, current.slowModeSeconds, at);
    return { author: user, highlighted: can(role, 'highlighted_chat') };
  }

  /**
   * At commit, in the writer's transaction: the authors who were banned, kicked
   * or timed out after their comment was admitted. Their comments are not
   * stored, so they are never broadcast nor shown in the history.
   */
  async refusalsAtCommit(trx: Db, authorIds: readonly number[], now: number): Promise<Map<number, AppError>> {
    // After a ban committed on another connection or node, never before it.
    await serializeChannelWrites(trx, this.channelId);
    const ids = authorIds.filter((id) => id !== this.channelId);
    const refusals = new Map<number, AppError>();
    for (const [userId, restriction] of await activeRestrictionsOf(trx, this.channelId, ids, now)) {
      refusals.set(userId, refusal(restriction, now));
    }
    return refusals;
  }

  /**
   * Of the users holding sockets here, those a ban or a kick stored now keeps
   * out: what `admit` would refuse (the re-check after the room bus lost events).
   */
  async exclusions(userIds: readonly number[], now: number): Promise<Map<number, Exclusion>> {
    return exclusionsOf(
      this.#db,
      this.channelId,
      userIds.filter((id) => id !== this.channelId),
      now,
    );
  }

  /** A restriction stored by any process: the comment check knows without a re-read. */
  noteRestriction(userId: number, restriction: 'timeout' | 'kick' | 'ban', until: number | null): void {
    if (restriction !== 'timeout') return;
    const cached = this.#facts.get(userId);
    if (cached) cached.timedOutUntil = until ?? Number.MAX_SAFE_INTEGER;
  }

  async #authorFacts(userId: number, now: number): Promise<AuthorFacts> {
    const cached = this.#facts.get(userId);
    if (cached && now - cached.loadedAt < AUTHOR_FACTS_TTL_MS) return cached;
    const [until, user] = await Promise.all([activeRestrictionUntil(this.#db, this.channelId, userId, 'timeout', now), findUserById(this.#db, userId)]);
    const facts = { timedOutUntil: until ?? 0, accountCreatedAt: user?.created_at ?? 0, loadedAt: now };
    if (this.#facts.size > MAX_CACHED_AUTHORS) this.#facts.clear();
    this.#facts.set(userId, facts);
    return facts;
  }
}

function timedOut(until: number, now: number): AppError {
  const retry = Math.ceil((until - now) / 1000);
  return new AppError('timed_out', `you are timed out for ${retry} more seconds`, { retryAfterSeconds: retry });
}

function refusal(restriction: ActiveRestriction, now: number): AppError {
  switch (restriction.kind) {
    case 'ban':
      return new AppError('banned', 'you are banned from this channel; the comment was not saved');
    case 'kick':
      return new AppError('kicked', 'you were kicked; the comment was not saved');
    case 'timeout':
      return timedOut(restriction.until, now);
    default: {
      const unknown: never = restriction;
      throw new Error(`unknown restriction ${JSON.stringify(unknown)}`);
    }
  }
}

/** The site settings an admin can change at run time; the environment gives the defaults. */
export interface SiteSettings {
  registration: RegistrationMode;
  streaming: StreamingMode;
}

const REGISTRATION_MODES: readonly RegistrationMode[] = ['open', 'invite', 'closed'];
const STREAMING_MODES: readonly StreamingMode[] = ['everyone', 'approved'];

/**
 * THE site gate: "may this account do this on the site?" (admin actions, going
 * live under STREAMING=approved, signing up under REGISTRATION). It reads the
 * account from the database on every question, so a demotion, a disabled
 * account or a settings change counts at once; callers never compare roles.
 */
export class SiteGate {
  readonly #db: Db;
  readonly #adminKeys: ReadonlySet<string>;
  readonly #defaults: SiteSettings;

  constructor(db: Db, opts: { adminUsernames: readonly string[]; defaults: SiteSettings }) {
    this.#db = db;
    this.#adminKeys = new Set(opts.adminUsernames.map(usernameKey));
    this.#defaults = opts.defaults;
  }

  /** Admins are the accounts flagged in the database and the ones ADMIN_USERNAMES names. */
  async siteRole(user: Person | null): Promise<SiteRole> {
    if (!user) return 'anonymous';
    const row = await findUserById(this.#db, user.id);
    if (!row || row.disabled_at !== null) return 'anonymous';
    return row.is_admin === 1 || this.#adminKeys.has(row.username_key) ? 'admin' : 'user';
  }

  /** The account, if it may do `action` now; `unauthorized` or `forbidden` otherwise. */
  async actor(user: Person | null, action: SiteAction): Promise<Person> {
    if (!user) throw new AppError('unauthorized', 'sign in first');
    if (!canOnSite(await this.siteRole(user), action)) throw new AppError('forbidden', 'only a site admin may do this');
    return user;
  }

  /** `db`: the caller's transaction when inside one (SQLite runs one connection: the outer handle would wait for it). */
  async settings(db: Db = this.#db): Promise<SiteSettings> {
    const stored = await readSiteSettings(db);
    const registration = stored.get('registration');
    const streaming = stored.get('streaming');
    return {
      registration: REGISTRATION_MODES.includes(registration as RegistrationMode) ? (registration as RegistrationMode) : this.#defaults.registration,
      streaming: STREAMING_MODES.includes(streaming as StreamingMode) ? (streaming as StreamingMode) : this.#defaults.streaming,
    };
  }

  /**
   * May someone sign up now? Inside the account's transaction, after the row
   * exists: under `invite` the code is spent on it (a refusal rolls the account back).
   */
  async admitRegistration(trx: Db, input: { userId: number; inviteCode: string | undefined; now: number }): Promise<void> {
    const { registration } = await this.settings(trx);
    if (registration === 'closed') throw new AppError('registration_closed', 'sign-ups are closed on this site');
    if (registration === 'open') return;
    if (!input.inviteCode) throw new AppError('invite_required', 'sign-ups on this site need an invite code');
    if (!(await useInvite(trx, { codeHash: hashInviteCode(input.inviteCode), userId: input.userId, now: input.now }))) {
      throw new AppError('invalid_invite', 'this invite code is unknown, used or expired');
    }
  }

  /** Of these sessions (token hashes), the ones still standing: not ended, their account not disabled or deleted. */
  standingSessions(tokenHashes: readonly string[]): Promise<Set<string>> {
    return standingSessions(this.#db, tokenHashes);
  }

  /** Going live (WebSocket publish, WHIP, creating a stream): `streaming_not_approved` unless the site lets this account stream. */
  async assertMayStream(user: Person): Promise<void> {
    const [{ streaming }, siteRole, row] = await Promise.all([this.settings(), this.siteRole(user), findUserById(this.#db, user.id)]);
    if (!mayStream(streaming, { siteRole, approved: row?.may_stream === 1 })) {
      throw new AppError('streaming_not_approved', 'a site admin has to approve your account before you can stream');
    }
  }
}
