import { Type, type Static } from '@sinclair/typebox';
import { EntityId, StreamInfoSchema } from './common.ts';
import { LIMITS } from './constants.ts';

// The site admin's REST contract (/api/admin/…) and the account routes it adds.

export const Reason = Type.String({ maxLength: LIMITS.reasonMaxLength });

export const AdminUserSchema = Type.Object({
  id: EntityId,
  username: Type.String(),
  createdAt: Type.Integer(),
  isAdmin: Type.Boolean(),
  mayStream: Type.Boolean(),
  disabledAt: Type.Union([Type.Integer(), Type.Null()]),
  deletedAt: Type.Union([Type.Integer(), Type.Null()]),
});
export type AdminUser = Static<typeof AdminUserSchema>;

export const AdminUserBody = Type.Object({ user: AdminUserSchema });
export type AdminUserBody = Static<typeof AdminUserBody>;
export const AdminUserListBody = Type.Object({ users: Type.Array(AdminUserSchema) });
export type AdminUserListBody = Static<typeof AdminUserListBody>;
export const AdminStreamListBody = Type.Object({ streams: Type.Array(StreamInfoSchema) });
export type AdminStreamListBody = Static<typeof AdminStreamListBody>;

export const UserSearchQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });
export type UserSearchQuery = Static<typeof UserSearchQuery>;

export const EndStreamRequest = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export type EndStreamRequest = Static<typeof EndStreamRequest>;

export const DisableUserRequest = Type.Object({ disabled: Type.Boolean(), reason: Type.Optional(Reason) }, { additionalProperties: false });
export type DisableUserRequest = Static<typeof DisableUserRequest>;

export const DeleteUserRequest = Type.Object({ deleteComments: Type.Boolean(), reason: Type.Optional(Reason) }, { additionalProperties: false });
export type DeleteUserRequest = Static<typeof DeleteUserRequest>;
export const DeleteUserBody = Type.Object({ user: AdminUserSchema, commentsDeleted: Type.Integer() });
export type DeleteUserBody = Static<typeof DeleteUserBody>;

export const SetFlagRequest = Type.Object({ value: Type.Boolean() }, { additionalProperties: false });
export type SetFlagRequest = Static<typeof SetFlagRequest>;

export const LogoutUserBody = Type.Object({ sessionsEnded: Type.Integer() });
export type LogoutUserBody = Static<typeof LogoutUserBody>;

/** A one-time link the admin hands to the user (not e-mailed: the server has no mail). */
export const ResetLinkBody = Type.Object({ url: Type.String(), expiresAt: Type.Integer() });
export type ResetLinkBody = Static<typeof ResetLinkBody>;

export const ResetPasswordRequest = Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
export type ResetPasswordRequest = Static<typeof ResetPasswordRequest>;

export const SiteSettingsSchema = Type.Object({
  registration: Type.Union([Type.Literal('open'), Type.Literal('invite'), Type.Literal('closed')]),
  streaming: Type.Union([Type.Literal('everyone'), Type.Literal('approved')]),
});
export type SiteSettingsBody = Static<typeof SiteSettingsSchema>;
export const SiteSettingsPatch = Type.Partial(SiteSettingsSchema, { additionalProperties: false });
export type SiteSettingsPatch = Static<typeof SiteSettingsPatch>;

export const CreateInviteRequest = Type.Object({ validHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 90 })) }, { additionalProperties: false });
export type CreateInviteRequest = Static<typeof CreateInviteRequest>;
/** The code is shown once; only its hash is stored. */
export const InviteBody = Type.Object({ code: Type.String(), expiresAt: Type.Integer() });
export type InviteBody = Static<typeof InviteBody>;

export const AdminLogBody = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: EntityId,
      action: Type.String(),
      actor: Type.Union([Type.String(), Type.Null()]),
      targetUser: Type.Union([Type.String(), Type.Null()]),
      targetStreamId: Type.Union([EntityId, Type.Null()]),
      reason: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
      createdAt: Type.Integer(),
    }),
  ),
});
export type AdminLogBody = Static<typeof AdminLogBody>;
