import type { ChannelKind, Message, Role, SyncEntry, SystemEvent } from '@confab/protocol';

/*
 * The store port: the system of record for users, devices, channels,
 * memberships and messages. Implementations: SqliteStore (embedded, default);
 * PostgreSQL later. All implementations pass `store.contract.ts`.
 *
 * Contract highlights (each is tested by the contract suite):
 * - Every method is atomic. When a promise resolves, its writes are durable
 *   (survive a process kill); when it rejects, nothing was written.
 * - Message keys lead with the channel id; no write spans two channels except
 *   `appendMessages`, which is a batch of independent per-channel appends that
 *   commit together (group commit) purely for throughput.
 * - Per channel, `seq` is gap-free from 1, assigned at commit, never reused.
 * - Sync versions are monotonic per user in commit order and never shared by
 *   two of one user's rows: a reader that has seen version V will see every
 *   later change to that user's memberships with a version > V.
 * - Watermarks: an event (message or membership change) is read and delivered
 *   for the member who caused it; a member who joins starts just before the
 *   event that added them, so earlier history is not counted as unread.
 * - "Not found" is `null`; rule violations raise AppError with a protocol code.
 */

export interface UserRecord {
  id: string;
  /** Lower-case, unique. */
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
  lastSeen: number | null;
}

export interface DeviceRecord {
  id: string;
  userId: string;
  name: string;
  platform: string;
  createdAt: number;
  lastActiveAt: number;
}

export interface ChannelRecord {
  id: string;
  kind: ChannelKind;
  name: string | null;
  createdBy: string;
  createdAt: number;
  lastSeq: number;
  /** Current members (not counting those who left). */
  memberCount: number;
}

export interface MemberRecord {
  channelId: string;
  userId: string;
  role: Role;
  joinedAt: number;
  /** seq of the event that (most recently) made this user a member; 1 for founders. */
  joinedSeq: number;
  /** seq of the event that removed the user, or null while a member. */
  leftSeq: number | null;
  deliveredSeq: number;
  readSeq: number;
}

/** A channel with my membership in it, for channel lists. */
export interface MembershipView {
  channel: ChannelRecord;
  member: MemberRecord;
  /** The newest message I may read (bounded by leftSeq), or null for an empty channel. */
  lastMessage: Message | null;
  /** For direct channels: the other user's id. */
  peerId: string | null;
}

export interface ChannelState {
  channel: ChannelRecord;
  /** Current members only. */
  members: MemberRecord[];
}

/**
 * What a membership operation does, decided by a pure domain function from the
 * channel's current state inside the store's transaction (so concurrent
 * operations cannot both pass a check that only one of them may pass).
 */
export interface ChannelChange {
  rename?: string;
  /** New members, or former members coming back. joinedSeq becomes the system message's seq. */
  add?: { userId: string; role: Role }[];
  /** Members leaving or removed. leftSeq becomes the system message's seq. */
  remove?: string[];
  roles?: { userId: string; role: Role }[];
  /** Committed with the next seq, in the same transaction. */
  system: { actorId: string; text: string; event: SystemEvent };
}

export interface ChannelChangeResult {
  channel: ChannelRecord;
  message: Message;
  /** Members after the change plus those removed by it: everyone who must see the event. */
  recipients: string[];
}

export interface NewGroup {
  id: string;
  name: string;
  ownerId: string;
  memberIds: string[];
  createdAt: number;
  system: { text: string; event: SystemEvent };
}

export interface AppendRequest {
  channelId: string;
  senderId: string;
  senderDeviceId: string;
  clientId: string;
  text: string;
}

export type AppendResult =
  | { ok: true; message: Message; duplicate: boolean }
  | { ok: false; code: 'not_member' | 'channel_not_found' | 'idempotency_conflict' };

export interface AppendBatchResult {
  /** One per request, same order. */
  results: AppendResult[];
  /** For each channel that got at least one new message: its current members' user ids. */
  recipients: Map<string, string[]>;
}

export interface HistoryRange {
  /** Return messages with seq < before (newest first page when only this is given). */
  before?: number;
  /** Return messages with seq > after. */
  after?: number;
  limit: number;
  /** Never return messages above this seq (a former member's leftSeq). */
  maxSeq?: number;
}

export interface HistoryPage {
  messages: Message[]; // ascending by seq
  hasMore: boolean;
}

export interface SyncPage {
  cursor: string;
  hasMore: boolean;
  entries: SyncEntry[];
}

export interface ReceiptUpdate {
  channelId: string;
  userId: string;
  deliveredSeq?: number;
  readSeq?: number;
}

export interface ReceiptChange {
  channelId: string;
  userId: string;
  deliveredSeq: number;
  readSeq: number;
}

export interface Store {
  // --- accounts -----------------------------------------------------------
  /** Raises AppError('username_taken') when the username exists. */
  createUser(user: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | null>;
  getUserByUsername(username: string): Promise<UserRecord | null>;
  getUsers(ids: readonly string[]): Promise<UserRecord[]>;
  /** Usernames starting with `prefix` (already lower-case), ordered by username. */
  searchUsers(prefix: string, limit: number): Promise<UserRecord[]>;
  updateDisplayName(userId: string, displayName: string): Promise<void>;
  setLastSeen(userId: string, at: number): Promise<void>;

  createDevice(device: DeviceRecord, tokenHash: string): Promise<void>;
  /** The live (not revoked) device holding this token hash, with its user. */
  findDeviceByTokenHash(tokenHash: string): Promise<{ device: DeviceRecord; user: UserRecord } | null>;
  listDevices(userId: string): Promise<DeviceRecord[]>;
  /** Revokes one of the user's devices; false when the user has no such live device. */
  revokeDevice(userId: string, deviceId: string, at: number): Promise<boolean>;
  touchDevice(deviceId: string, at: number): Promise<void>;

  // --- channels -----------------------------------------------------------
  /** The one direct channel of this pair, created (empty, seq 0) on first call. */
  getOrCreateDirect(
    id: string,
    userA: string,
    userB: string,
    createdAt: number,
  ): Promise<{ channel: ChannelRecord; created: boolean }>;
  /** Creates the channel, its members and its `created` system message (seq 1) atomically. */
  createGroup(group: NewGroup): Promise<ChannelChangeResult>;
  getChannel(channelId: string): Promise<ChannelRecord | null>;
  /** The user's membership row, current or former; null if never a member. */
  getMember(channelId: string, userId: string): Promise<MemberRecord | null>;
  /** Current members. */
  listMembers(channelId: string): Promise<MemberRecord[]>;
  /**
   * Loads the channel state and applies what `decide` returns, in one
   * transaction. `decide` may throw AppError to refuse; nothing is written then.
   * Returns null when the channel does not exist.
   */
  changeChannel(
    channelId: string,
    decide: (state: ChannelState) => ChannelChange,
    at: number,
  ): Promise<ChannelChangeResult | null>;
  /** Every channel the user is or was a member of, newest activity first. */
  listMemberships(userId: string): Promise<MembershipView[]>;
  /** User ids of the user's direct-channel peers. */
  listDirectPeers(userId: string): Promise<string[]>;

  // --- messages -----------------------------------------------------------
  /**
   * The group commit: appends every acceptable request in one transaction.
   * Rules: (channelId, senderDeviceId, clientId) identifies a send, so a
   * repeat with the same text returns the original message with
   * duplicate=true (even if the sender has since left) and a repeat with other
   * text is refused with idempotency_conflict; a new send needs the sender to
   * be a current member. A send also moves the sender's read and
   * delivered watermarks to its seq.
   */
  appendMessages(requests: readonly AppendRequest[], at: number): Promise<AppendBatchResult>;
  getMessages(channelId: string, range: HistoryRange): Promise<HistoryPage>;

  // --- sync and receipts --------------------------------------------------
  /**
   * Channels whose state changed for this user after `cursor`, oldest change
   * first. `cursor` null means "from now": an empty page with the head cursor.
   * Raises AppError('bad_request') for a cursor this store did not issue.
   */
  sync(userId: string, cursor: string | null, limit: number): Promise<SyncPage>;
  /**
   * Raises watermarks (never lowers them), clamped to what the member may
   * read; read implies delivered. Returns the rows that actually changed.
   */
  updateReceipts(updates: readonly ReceiptUpdate[]): Promise<ReceiptChange[]>;

  close(): Promise<void>;
}
