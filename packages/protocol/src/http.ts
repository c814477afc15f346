import { Type, type Static } from '@sinclair/typebox';
import {
  ID_PATTERN,
  MAX_DEVICE_NAME_LENGTH,
  NO_NUL_PATTERN,
  MAX_HISTORY_PAGE_SIZE,
  MAX_PASSWORD_LENGTH,
  MAX_PRESENCE_QUERY,
  MAX_PUSH_ENDPOINT_LENGTH,
  MAX_PUSH_TOKEN_LENGTH,
  MUTED_FOREVER,
  MAX_SYNC_CURSOR_LENGTH,
  MAX_SYNC_PAGE_SIZE,
  MAX_USER_SEARCH_RESULTS,
} from './limits.js';
import type { ChannelDetail, ChannelSummary, Device, Message, Presence, SyncEntry, User } from './models.js';

/*
 * HTTP request schemas (validated by the server, typed for the SDK) and
 * response shapes. All routes live under /v1 and speak JSON. Authenticated
 * routes take `Authorization: Bearer <token>`.
 */

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: ID_PATTERN });
const SeqParam = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

// Lengths and patterns are checked by the server with specific error codes, so
// the schemas only pin types and hard upper bounds.
export const SignUpBody = Type.Object(
  {
    username: Type.String({ maxLength: 64 }),
    password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
    displayName: Type.String({ maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type SignUpBody = Static<typeof SignUpBody>;

export const LoginBody = Type.Object(
  {
    username: Type.String({ maxLength: 64, pattern: NO_NUL_PATTERN }),
    password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
    deviceName: Type.Optional(Type.String({ maxLength: MAX_DEVICE_NAME_LENGTH, pattern: NO_NUL_PATTERN })),
    platform: Type.Optional(Type.String({ maxLength: 32, pattern: NO_NUL_PATTERN })),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const UpdateProfileBody = Type.Object(
  { displayName: Type.String({ maxLength: 256 }) },
  { additionalProperties: false },
);
export type UpdateProfileBody = Static<typeof UpdateProfileBody>;

/**
 * `PUT /v1/me/password`. The new password follows the sign-up rules
 * (`invalid_password`); every other device of the account is logged out.
 */
export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
    newPassword: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
  },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const UserSearchQuery = Type.Object({
  prefix: Type.String({ minLength: 1, maxLength: 32, pattern: NO_NUL_PATTERN }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USER_SEARCH_RESULTS })),
});
export type UserSearchQuery = Static<typeof UserSearchQuery>;

export const OpenDirectBody = Type.Object({ userId: Id }, { additionalProperties: false });
export type OpenDirectBody = Static<typeof OpenDirectBody>;

export const CreateGroupBody = Type.Object(
  { name: Type.String({ maxLength: 512 }), memberIds: Type.Array(Id, { maxItems: 1000 }) },
  { additionalProperties: false },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const RenameBody = Type.Object({ name: Type.String({ maxLength: 512 }) }, { additionalProperties: false });
export type RenameBody = Static<typeof RenameBody>;

export const AddMembersBody = Type.Object(
  { userIds: Type.Array(Id, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type AddMembersBody = Static<typeof AddMembersBody>;

export const SetRoleBody = Type.Object(
  { role: Type.Union([Type.Literal('admin'), Type.Literal('member')]) },
  { additionalProperties: false },
);
export type SetRoleBody = Static<typeof SetRoleBody>;

export const HistoryQuery = Type.Object({
  before: Type.Optional(SeqParam),
  after: Type.Optional(SeqParam),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_PAGE_SIZE })),
});
export type HistoryQuery = Static<typeof HistoryQuery>;

export const SendBody = Type.Object(
  { clientId: Type.String({ minLength: 1, maxLength: 64, pattern: ID_PATTERN }), text: Type.String() },
  { additionalProperties: false },
);
export type SendBody = Static<typeof SendBody>;

export const SyncQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: MAX_SYNC_CURSOR_LENGTH })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SYNC_PAGE_SIZE })),
});
export type SyncQuery = Static<typeof SyncQuery>;

export const PresenceQueryBody = Type.Object(
  { userIds: Type.Array(Id, { minItems: 1, maxItems: MAX_PRESENCE_QUERY }) },
  { additionalProperties: false },
);
export type PresenceQueryBody = Static<typeof PresenceQueryBody>;

/**
 * `PUT /v1/devices/current/push`: where this device's pushes go. One per
 * device; a new one replaces the old. Web Push takes the browser's
 * `PushSubscription.toJSON()` fields; APNs and FCM take the token the OS gave
 * the app.
 */
export const PushRegistrationBody = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('webpush'),
      endpoint: Type.String({ minLength: 1, maxLength: MAX_PUSH_ENDPOINT_LENGTH, pattern: NO_NUL_PATTERN }),
      keys: Type.Object(
        { p256dh: Type.String({ minLength: 1, maxLength: 128, pattern: NO_NUL_PATTERN }), auth: Type.String({ minLength: 1, maxLength: 64, pattern: NO_NUL_PATTERN }) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('apns'), token: Type.String({ minLength: 1, maxLength: MAX_PUSH_TOKEN_LENGTH, pattern: NO_NUL_PATTERN }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('fcm'), token: Type.String({ minLength: 1, maxLength: MAX_PUSH_TOKEN_LENGTH, pattern: NO_NUL_PATTERN }) },
    { additionalProperties: false },
  ),
]);
export type PushRegistrationBody = Static<typeof PushRegistrationBody>;

/** `PUT /v1/channels/:channelId/mute`: null unmutes; `MUTED_FOREVER` mutes until unmuted. */
export const MuteBody = Type.Object(
  { mutedUntil: Type.Union([Type.Integer({ minimum: 0, maximum: MUTED_FOREVER }), Type.Null()]) },
  { additionalProperties: false },
);
export type MuteBody = Static<typeof MuteBody>;

export interface SessionResponse {
  token: string;
  user: User;
  device: Device;
}
export interface UserResponse {
  user: User;
}
export interface UsersResponse {
  users: User[];
}
/** One user I blocked (`GET /v1/blocks`). */
export interface BlockedUser {
  user: User;
  blockedAt: number;
}
export interface BlocksResponse {
  /** Newest block first. */
  blocks: BlockedUser[];
}
export interface DevicesResponse {
  devices: Device[];
}
export interface ChannelsResponse {
  channels: ChannelSummary[];
}
export interface ChannelResponse {
  channel: ChannelDetail;
}
export interface HistoryResponse {
  /** Ascending by seq. */
  messages: Message[];
  /** true when more messages exist beyond this page in the direction asked. */
  hasMore: boolean;
}
export interface SendResponse {
  channelId: string;
  seq: number;
  createdAt: number;
  duplicate: boolean;
}
export interface SyncResponse {
  /** Pass as `cursor` next time. Opaque. */
  cursor: string;
  hasMore: boolean;
  channels: SyncEntry[];
}
export interface PresenceResponse {
  presence: Presence[];
}

/** `GET /v1/connect`: the chat node this client should open its WebSocket to. */
export interface ConnectResponse {
  nodeId: string;
  /** Base URL of the node (HTTP); the WebSocket is `url` with ws(s) and the path `/v1/ws`. */
  url: string;
}

/** `GET /v1/push/config`: which push services this server sends through. */
export interface PushConfigResponse {
  /** The VAPID public key (base64url) to pass to `PushManager.subscribe()`; null when Web Push is off. */
  webPush: { publicKey: string } | null;
  apns: boolean;
  fcm: boolean;
}

/** `GET /v1/devices/current/push`: this device's registration, or null. */
export interface PushRegistrationResponse {
  registration: PushRegistrationBody | null;
}

export interface MuteResponse {
  channelId: string;
  mutedUntil: number | null;
}
