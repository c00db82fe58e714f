import type { Role } from '@redred/api/protocol';

const LABEL: Partial<Record<Role, string>> = { streamer: 'Streamer', moderator: 'Mod', vip: 'VIP' };

/** Streamer, moderator and VIP get a badge; viewers and guests none. */
export function RoleBadge({ role }: { role: Role }) {
  const label = LABEL[role];
  if (!label) return null;
  return (
    <span class={`badge badge--${role}`} data-testid="role-badge" data-role={role}>
      {label}
    </span>
  );
}
