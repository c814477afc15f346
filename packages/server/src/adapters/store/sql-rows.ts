import type { Message, Role, SystemEvent } from '@confab/protocol';
import type { PushRegistration } from '../../push/push-sender.js';
import type { ChannelRecord, DeviceRecord, MemberRecord, MembershipView, PushJob, UserRecord } from '../../store/store.js';

/*
 * Row shapes of the SQL stores (SQLite and PostgreSQL share one schema
 * vocabulary, snake_case columns) and their mapping to the Store's records.
 */

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
  last_seen: number | null;
}

export interface DeviceRow {
  id: string;
  user_id: string;
  name: string;
  platform: string;
  created_at: number;
  last_active_at: number;
}

export type DeviceWithUserRow = DeviceRow & { [K in keyof UserRow as `u_${K}`]: UserRow[K] };

export interface ChannelRow {
  id: string;
  kind: 'direct' | 'group';
  name: string | null;
  created_by: string;
  created_at: number;
  last_seq: number;
  member_count: number;
}

export interface MemberRow {
  channel_id: string;
  user_id: string;
  role: Role;
  joined_at: number;
  joined_seq: number;
  left_seq: number | null;
  delivered_seq: number;
  read_seq: number;
  muted_until: number | null;
}

export interface MessageRow {
  channel_id: string;
  seq: number;
  sender_id: string;
  client_id: string;
  kind: 'text' | 'system';
  text: string;
  system: string | null;
  created_at: number;
}

export type MembershipRow = { [K in keyof ChannelRow as `c_${K}`]: ChannelRow[K] } & MemberRow & {
  [K in keyof MessageRow as `msg_${K}`]: MessageRow[K] | null;
} & { peer_id: string | null };

export function toUser(r: UserRow): UserRecord {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    createdAt: r.created_at,
    lastSeen: r.last_seen,
  };
}

export function toDevice(r: DeviceRow): DeviceRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    platform: r.platform,
    createdAt: r.created_at,
    lastActiveAt: r.last_active_at,
  };
}

export function toChannel(r: ChannelRow): ChannelRecord {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastSeq: r.last_seq,
    memberCount: r.member_count,
  };
}

export function toMember(r: MemberRow): MemberRecord {
  return {
    channelId: r.channel_id,
    userId: r.user_id,
    role: r.role,
    joinedAt: r.joined_at,
    joinedSeq: r.joined_seq,
    leftSeq: r.left_seq,
    deliveredSeq: r.delivered_seq,
    readSeq: r.read_seq,
    mutedUntil: r.muted_until,
  };
}

export function toMessage(r: MessageRow): Message {
  const message: Message = {
    channelId: r.channel_id,
    seq: r.seq,
    senderId: r.sender_id,
    clientId: r.client_id,
    kind: r.kind,
    text: r.text,
    createdAt: r.created_at,
  };
  // Text messages have no `system` key at all (not even undefined), so records compare equal.
  if (r.system !== null) message.system = JSON.parse(r.system) as SystemEvent;
  return message;
}

/** A row of the memberships query: channel (`c_`), my member row, its newest readable message (`msg_`). */
export function toMembershipView(row: MembershipRow): MembershipView {
  return {
    channel: toChannel({
      id: row.c_id,
      kind: row.c_kind,
      name: row.c_name,
      created_by: row.c_created_by,
      created_at: row.c_created_at,
      last_seq: row.c_last_seq,
      member_count: row.c_member_count,
    }),
    member: toMember(row),
    lastMessage:
      row.msg_seq === null
        ? null
        : toMessage({
            channel_id: row.msg_channel_id!,
            seq: row.msg_seq,
            sender_id: row.msg_sender_id!,
            client_id: row.msg_client_id!,
            kind: row.msg_kind!,
            text: row.msg_text!,
            system: row.msg_system,
            created_at: row.msg_created_at!,
          }),
    peerId: row.peer_id,
  };
}

/** A push registration as stored: the endpoint (Web Push) or token (APNs, FCM) is the `target`. */
export interface PushRegistrationRow {
  kind: PushRegistration['kind'];
  target: string;
  p256dh: string | null;
  auth: string | null;
}

export function toPushRegistrationRow(r: PushRegistration): PushRegistrationRow {
  return r.kind === 'webpush'
    ? { kind: r.kind, target: r.endpoint, p256dh: r.keys.p256dh, auth: r.keys.auth }
    : { kind: r.kind, target: r.token, p256dh: null, auth: null };
}

export function toPushRegistration(r: PushRegistrationRow): PushRegistration {
  return r.kind === 'webpush'
    ? { kind: 'webpush', endpoint: r.target, keys: { p256dh: r.p256dh ?? '', auth: r.auth ?? '' } }
    : { kind: r.kind, token: r.target };
}

export function samePushRegistration(a: PushRegistrationRow, b: PushRegistrationRow): boolean {
  return a.kind === b.kind && a.target === b.target && a.p256dh === b.p256dh && a.auth === b.auth;
}

/** A push job with its device's registration (columns null when there is none). */
export interface PushJobRow {
  device_id: string;
  user_id: string;
  channel_id: string;
  message_count: number;
  last_seq: number;
  notified_seq: number;
  attempts: number;
  created_at: number;
  kind: PushRegistration['kind'] | null;
  target: string | null;
  p256dh: string | null;
  auth: string | null;
}

export function toPushJob(r: PushJobRow): PushJob {
  return {
    deviceId: r.device_id,
    userId: r.user_id,
    channelId: r.channel_id,
    count: r.message_count,
    lastSeq: r.last_seq,
    notifiedSeq: r.notified_seq,
    attempts: r.attempts,
    createdAt: r.created_at,
    registration: r.kind && r.target ? toPushRegistration({ kind: r.kind, target: r.target, p256dh: r.p256dh, auth: r.auth }) : null,
  };
}
