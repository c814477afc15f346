import { Type, type Static } from '@sinclair/typebox';

/**
 * Ids are opaque strings chosen by the server (`u_…`, `d_…`, `c_…`). They are
 * not branded types: they arrive as JSON and a brand would only add casts.
 */
export type UserId = string;
export type DeviceId = string;
export type ChannelId = string;

export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  createdAt: Type.Number({ description: 'ms since the Unix epoch' }),
});
export type User = Static<typeof User>;

export const Device = Type.Object({
  id: Type.String(),
  name: Type.String(),
  platform: Type.String(),
  createdAt: Type.Number(),
  lastActiveAt: Type.Number(),
  current: Type.Boolean({ description: 'true for the device making the request' }),
});
export type Device = Static<typeof Device>;

export const SystemEvent = Type.Object({
  event: Type.Union([
    Type.Literal('created'),
    Type.Literal('member_added'),
    Type.Literal('member_removed'),
    Type.Literal('member_left'),
    Type.Literal('renamed'),
    Type.Literal('role_changed'),
  ]),
  actorId: Type.String(),
  userIds: Type.Optional(Type.Array(Type.String())),
  name: Type.Optional(Type.String()),
  role: Type.Optional(Type.String()),
});
export type SystemEvent = Static<typeof SystemEvent>;

export const Message = Type.Object({
  channelId: Type.String(),
  seq: Type.Integer({ description: 'gap-free position in the channel, from 1' }),
  senderId: Type.String(),
  clientId: Type.String({ description: 'the id the sending device chose' }),
  kind: Type.Union([Type.Literal('text'), Type.Literal('system')]),
  text: Type.String(),
  createdAt: Type.Number({ description: 'commit time, ms since the Unix epoch' }),
  system: Type.Optional(SystemEvent),
});
export type Message = Static<typeof Message>;

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export type Role = Static<typeof Role>;

export const ChannelKind = Type.Union([Type.Literal('direct'), Type.Literal('group')]);
export type ChannelKind = Static<typeof ChannelKind>;

export const Member = Type.Object({
  userId: Type.String(),
  role: Role,
  joinedAt: Type.Number(),
  deliveredSeq: Type.Integer(),
  readSeq: Type.Integer(),
});
export type Member = Static<typeof Member>;

/** One row of "my channels": everything a channel list needs, without a second request. */
export const ChannelSummary = Type.Object({
  id: Type.String(),
  kind: ChannelKind,
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(),
  memberCount: Type.Integer(),
  lastSeq: Type.Integer({ description: 'seq of the newest message I may read' }),
  lastMessage: Type.Union([Message, Type.Null()]),
  role: Role,
  joinedSeq: Type.Integer({ description: 'first seq of my current membership' }),
  readSeq: Type.Integer(),
  unreadCount: Type.Integer(),
  left: Type.Boolean({ description: 'true when I was removed or left; lastSeq then stops at that event' }),
  mutedUntil: Type.Union([Type.Integer(), Type.Null()], {
    description: 'while now < mutedUntil (ms epoch) no push is sent for this channel; null: not muted',
  }),
  peer: Type.Optional(User),
});
export type ChannelSummary = Static<typeof ChannelSummary>;

export const ChannelDetail = Type.Composite([
  ChannelSummary,
  Type.Object({ members: Type.Array(Member) }),
]);
export type ChannelDetail = Static<typeof ChannelDetail>;

export const Presence = Type.Object({
  userId: Type.String(),
  online: Type.Boolean(),
  lastSeen: Type.Union([Type.Number(), Type.Null()], { description: 'ms epoch; null if never seen' }),
});
export type Presence = Static<typeof Presence>;

export const SyncEntry = Type.Object({
  channelId: Type.String(),
  lastSeq: Type.Integer(),
  joinedSeq: Type.Integer(),
  readSeq: Type.Integer(),
  left: Type.Boolean(),
  mutedUntil: Type.Union([Type.Integer(), Type.Null()]),
});
export type SyncEntry = Static<typeof SyncEntry>;

export const Receipt = Type.Object({
  userId: Type.String(),
  deliveredSeq: Type.Integer(),
  readSeq: Type.Integer(),
});
export type Receipt = Static<typeof Receipt>;
