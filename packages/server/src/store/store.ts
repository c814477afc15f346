import type { ChannelKind, Message, Role, SyncEntry, SystemEvent } from '@confab/protocol';
import type { PushRegistration } from '../push/push-sender.js';

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
  /** No pushes for this channel while now < mutedUntil; null: not muted. */
  mutedUntil: number | null;
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
  | { ok: false; code: 'not_member' | 'channel_not_found' | 'idempotency_conflict' | 'blocked' };

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

/**
 * When a committed message should be pushed to devices that do not
 * acknowledge it. Given to `appendMessages` only when push is enabled.
 */
export interface PushPolicy {
  /** A new job is due then (commit time + the ack grace) ... */
  dueAt: number;
  /** ... but no sooner than this long after the previous push to that device for that channel. */
  minIntervalMs: number;
}

/**
 * The pending push of one channel to one device. There is at most one per
 * (device, channel): new messages fold into it (coalescing), the device's
 * `delivered` acknowledgement deletes it, a read elsewhere turns it into a
 * silent `read` push when a notification is already showing.
 */
export interface PushJob {
  deviceId: string;
  userId: string;
  channelId: string;
  /** Messages from others not yet acknowledged by this device (shown as "N new messages"). */
  count: number;
  /** Highest seq among them. */
  lastSeq: number;
  /** Highest seq this device was already notified about (0: no notification showing). */
  notifiedSeq: number;
  /** Failed attempts since the last success. */
  attempts: number;
  /** When this job was first created; pushes older than the push TTL are dropped. */
  createdAt: number;
  /** The device's registration; null if it was removed after the job was made. */
  registration: PushRegistration | null;
}

/** How a claimed push job ends (see `settlePushJob`). */
export type PushSettlement =
  /** A message notification went out: it now covers `job.lastSeq`. */
  | { kind: 'notified'; at: number; nextDueAt: number }
  /** A silent read push went out, or the job is moot: delete it unless a newer message arrived. */
  | { kind: 'done'; nextDueAt: number }
  /** Try again at `dueAt`. */
  | { kind: 'retry'; dueAt: number };

export interface DeliveredAck {
  deviceId: string;
  channelId: string;
  seq: number;
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
  /** Records last-seen times, many users in one write (presence batches them). */
  setLastSeen(seen: ReadonlyMap<string, number>): Promise<void>;

  createDevice(device: DeviceRecord, tokenHash: string): Promise<void>;
  /** The live (not revoked) device holding this token hash, with its user. */
  findDeviceByTokenHash(tokenHash: string): Promise<{ device: DeviceRecord; user: UserRecord } | null>;
  listDevices(userId: string): Promise<DeviceRecord[]>;
  /** Revokes one of the user's devices; false when the user has no such live device. */
  revokeDevice(userId: string, deviceId: string, at: number): Promise<boolean>;
  touchDevice(deviceId: string, at: number): Promise<void>;
  /**
   * Replaces the user's password hash and, in the same transaction, revokes
   * every other live device of the user (with their push registrations and
   * pending pushes). Returns the ids of the devices revoked.
   */
  setPassword(userId: string, passwordHash: string, keepDeviceId: string, at: number): Promise<string[]>;

  // --- blocks ---------------------------------------------------------------
  /** `blockerId` blocks `blockedId`; blocking again keeps the first time. */
  block(blockerId: string, blockedId: string, at: number): Promise<void>;
  /** Lifts the block; false when there was none. */
  unblock(blockerId: string, blockedId: string): Promise<boolean>;
  /** The users `blockerId` blocked, newest first. */
  listBlocks(blockerId: string): Promise<{ userId: string; blockedAt: number }[]>;
  /** Whether either user has blocked the other. */
  isBlockedBetween(userA: string, userB: string): Promise<boolean>;
  /** Users who blocked `userId` or whom `userId` blocked. */
  blockRelations(userId: string): Promise<string[]>;
  /**
   * The users among `candidates` who are current members of at least one
   * channel of which `userId` is a current member, and who have no block
   * with `userId` either way (`userId` itself is not included).
   */
  contactsAmong(userId: string, candidates: readonly string[]): Promise<string[]>;

  // --- push registrations -------------------------------------------------
  /**
   * Sets the device's push registration (replacing any other). The same
   * endpoint or token registered by another device is removed from it: a
   * push target belongs to the device that registered it last.
   */
  setPushRegistration(deviceId: string, registration: PushRegistration, at: number): Promise<void>;
  getPushRegistration(deviceId: string): Promise<PushRegistration | null>;
  /**
   * Removes the device's registration and its pending push jobs; with `only`,
   * just when the registration is still that one (a push service said it is
   * dead, but the device may have registered a new one since). Revoking a
   * device does this too.
   */
  deletePushRegistration(deviceId: string, only?: PushRegistration): Promise<boolean>;

  // --- channels -----------------------------------------------------------
  /** The one direct channel of this pair, created (empty, seq 0) on first call. */
  getOrCreateDirect(
    id: string,
    userA: string,
    userB: string,
    createdAt: number,
  ): Promise<{ channel: ChannelRecord; created: boolean }>;
  /** The direct channel of this pair, or null when they have none. */
  findDirect(userA: string, userB: string): Promise<ChannelRecord | null>;
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
  /**
   * Sets a current member's mute (null: unmuted) and moves their sync
   * version, so their other devices learn it. Returns the member row, or
   * null when the user is not a current member.
   */
  setMuted(channelId: string, userId: string, mutedUntil: number | null): Promise<MemberRecord | null>;

  // --- messages -----------------------------------------------------------
  /**
   * The group commit: appends every acceptable request in one transaction.
   * Rules: (channelId, senderDeviceId, clientId) identifies a send, so a
   * repeat with the same text returns the original message with
   * duplicate=true (even if the sender has since left) and a repeat with other
   * text is refused with idempotency_conflict; a new send needs the sender to
   * be a current member, and in a direct channel it is refused with `blocked`
   * while either member has blocked the other. A send also moves the
   * sender's read and delivered watermarks to its seq.
   *
   * With `push`, the same transaction records a push job for every device
   * with a push registration of every other current member who has not muted
   * the channel (so a committed message's pushes survive a crash).
   */
  appendMessages(requests: readonly AppendRequest[], at: number, push?: PushPolicy): Promise<AppendBatchResult>;
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

  // --- push jobs ----------------------------------------------------------
  /**
   * Takes up to `limit` jobs due at `now`, oldest first, and leases them:
   * their due time moves to `leaseUntil`, so no other node takes them
   * meanwhile and a node that dies mid-send leaves them to be retried.
   */
  claimPushJobs(now: number, limit: number, leaseUntil: number): Promise<PushJob[]>;
  /**
   * Ends a claimed job. When messages arrived after the claim (the row's
   * lastSeq moved), the job stays with due time `nextDueAt` so they are
   * pushed too; otherwise `notified` keeps the row (so a later read can clear
   * the notification) with no due time, and `done` deletes it.
   */
  settlePushJob(job: PushJob, settlement: PushSettlement): Promise<void>;
  /** A device received messages live up to `seq`: its jobs for that channel up to there are deleted. */
  clearPushJobs(acks: readonly DeliveredAck[]): Promise<void>;
  /**
   * The user read the channel up to `readSeq`: jobs of their devices covered
   * by it are deleted, except where a notification is showing (notifiedSeq >
   * 0); those become silent read pushes (count 0) due at `at`.
   */
  pushChannelsRead(reads: readonly { userId: string; channelId: string; readSeq: number }[], at: number): Promise<void>;

  close(): Promise<void>;
}
