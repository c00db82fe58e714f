import { describe, expect, it } from 'vitest';
import type { Role } from '../protocol/constants.ts';
import { can, type Action } from './policy.ts';

const ROLES: Role[] = ['streamer', 'moderator', 'vip', 'viewer', 'anonymous'];

// The table, transcribed independently of POLICY: if either drifts, this fails.
const TABLE: [Action, Role[]][] = [
  ['start_stream', ['streamer']],
  ['end_stream', ['streamer']],
  ['kick', ['streamer', 'moderator']],
  ['delete_comment', ['streamer', 'moderator']],
  ['timeout', ['streamer', 'moderator']],
  ['add_moderator', ['streamer']],
  ['remove_moderator', ['streamer']],
  ['highlighted_chat', ['streamer', 'moderator', 'vip']],
  ['watch', ['streamer', 'moderator', 'vip', 'viewer', 'anonymous']],
  ['comment', ['streamer', 'moderator', 'vip', 'viewer']],
  ['ban', ['streamer', 'moderator']],
  ['unban', ['streamer', 'moderator']],
  ['add_vip', ['streamer']],
  ['remove_vip', ['streamer']],
];

describe('the permission table', () => {
  for (const [action, allowed] of TABLE) {
    for (const role of ROLES) {
      it(`${role} ${allowed.includes(role) ? 'may' : 'may not'} ${action}`, () => {
        expect(can(role, action, action === 'watch' || action === 'comment' || action.endsWith('stream') || action === 'highlighted_chat' ? undefined : 'viewer')).toBe(
          allowed.includes(role),
        );
      });
    }
  }

  const targeted: Action[] = ['kick', 'delete_comment', 'timeout', 'ban', 'unban', 'add_moderator', 'remove_moderator', 'add_vip', 'remove_vip'];

  it('lets nobody act on the streamer', () => {
    for (const action of targeted) for (const role of ROLES) expect(can(role, action, 'streamer'), `${role} ${action}`).toBe(false);
  });

  it('keeps moderators off each other but lets the streamer act on them', () => {
    for (const action of ['kick', 'delete_comment', 'timeout', 'ban', 'unban'] as Action[]) {
      expect(can('moderator', action, 'moderator'), action).toBe(false);
      expect(can('moderator', action, 'vip'), action).toBe(true);
      expect(can('streamer', action, 'moderator'), action).toBe(true);
    }
  });

  it('allows staff to delete their own comments and nothing else on themselves', () => {
    expect(can('streamer', 'delete_comment', 'self')).toBe(true);
    expect(can('moderator', 'delete_comment', 'self')).toBe(true);
    expect(can('viewer', 'delete_comment', 'self')).toBe(false);
    for (const action of ['kick', 'timeout', 'ban', 'add_moderator', 'add_vip'] as Action[]) {
      expect(can('streamer', action, 'self'), action).toBe(false);
      expect(can('moderator', action, 'self'), action).toBe(false);
    }
  });
});
