import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Message, Role, SyncEntry, SystemEvent } from '@confab/protocol';
import { AppError } from '../../errors.js';
import type {
  AppendBatchResult,
  AppendRequest,
  AppendResult,
  ChannelChange,
  ChannelChangeResult,
  ChannelRecord,
  ChannelState,
  DeviceRecord,
  HistoryPage,
  HistoryRange,
  MemberRecord,
  MembershipView,
  NewGroup,
  DeliveredAck,
  PushJob,
  PushPolicy,
  PushSettlement,
  ReceiptChange,
  ReceiptUpdate,
  Store,
  SyncPage,
  UserRecord,
} from '../../store/store.js';
import type { PushRegistration } from '../../push/push-sender.js';
import {
  toChannel,
  toDevice,
  toMember,
  toMembershipView,
  toMessage,
  toPushJob,
  toPushRegistration,
  toPushRegistrationRow,
  samePushRegistration,
  toUser,
  type ChannelRow,
  type DeviceRow,
  type DeviceWithUserRow,
  type MemberRow,
  type MembershipRow,
  type MessageRow,
  type PushJobRow,
  type PushRegistrationRow,
  type UserRow,
} from './sql-rows.js';
import { migrate } from './sqlite-migrations.js';
import { openSqlite, type SqliteDatabase } from './sqlite-driver.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. Parent directories are created. */
  path: string;
  /** 'full' (default) fsyncs every commit; 'normal' may lose the last commits on power loss (not on a process crash). */
  synchronous?: 'full' | 'normal';
}

// --- row shapes, as better-sqlite3 returns them ------------------------------

interface SyncRow {
  channel_id: string;
  joined_seq: number;
  left_seq: number | null;
  read_seq: number;
  muted_until: number | null;
  version: number;
  last_seq: number;
}



const USER_COLUMNS = 'id, username, display_name, password_hash, created_at, last_seen';
const DEVICE_COLUMNS = 'id, user_id, name, platform, created_at, last_active_at';
const CHANNEL_COLUMNS = 'id, kind, name, created_by, created_at, last_seq, member_count';
const MEMBER_COLUMNS = 'channel_id, user_id, role, joined_at, joined_seq, left_seq, delivered_seq, read_seq, muted_until';
const MESSAGE_COLUMNS = 'channel_id, seq, sender_id, client_id, kind, text, system, created_at';

/** Larger than any seq; stands for "no upper bound" in range scans. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** A cursor is the decimal form of a version, exactly as `sync` issues it. */
const CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** Every statement the store runs, prepared once per connection: these are on the hot path. */
/*
 * Every bound LIMIT is written `LIMIT CAST(? AS INTEGER)`: SQLite marks a bare
 * `LIMIT ?` as a parameter whose value may change the plan, so each new
 * binding recompiles the statement, about 10 µs on every execution (it was
 * most of the cost of a sync page and of a short history page).
 */
function prepareStatements(db: SqliteDatabase) {
  const prepare = <P extends unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
  const pluck = <P extends unknown[], V>(sql: string) => db.preparePluck<P, V>(sql);
  return {
    // accounts
    insertUser: prepare<[string, string, string, string, number, number | null]>(
      `INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    userById: prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
    userByUsername: prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
    // One statement for any number of ids: the list travels as a JSON array.
    usersByIds: prepare<[string], UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE id IN (SELECT value FROM json_each(?))`,
    ),
    // A range on the unique username index rather than LIKE, which SQLite
    // would only turn into an index range under case-sensitivity pragmas.
    searchUsers: prepare<[string, string, number], UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE username >= ? AND username < ? ORDER BY username LIMIT CAST(? AS INTEGER)`,
    ),
    updateDisplayName: prepare<[string, string]>(`UPDATE users SET display_name = ? WHERE id = ?`),
    setLastSeen: prepare<[number, string]>(`UPDATE users SET last_seen = ? WHERE id = ?`),

    insertDevice: prepare<[string, string, string, string, string, number, number]>(
      `INSERT INTO devices (id, user_id, name, platform, token_hash, created_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    deviceByToken: prepare<[string], DeviceWithUserRow>(
      `SELECT d.id, d.user_id, d.name, d.platform, d.created_at, d.last_active_at,
              u.id AS u_id, u.username AS u_username, u.display_name AS u_display_name,
              u.password_hash AS u_password_hash, u.created_at AS u_created_at, u.last_seen AS u_last_seen
       FROM devices d JOIN users u ON u.id = d.user_id
       WHERE d.token_hash = ? AND d.revoked_at IS NULL`,
    ),
    devicesByUser: prepare<[string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at, id`,
    ),
    revokeDevice: prepare<[number, string, string]>(
      `UPDATE devices SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
    ),
    touchDevice: prepare<[number, string]>(`UPDATE devices SET last_active_at = ? WHERE id = ? AND revoked_at IS NULL`),

    // channels
    channelById: prepare<[string], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = ?`),
    channelByDirectKey: prepare<[string], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE direct_key = ?`),
    insertChannel: prepare<[string, 'direct' | 'group', string | null, string | null, string, number, number, number, number]>(
      `INSERT INTO channels (id, kind, name, direct_key, created_by, created_at, last_seq, member_count, last_activity_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The channel's version tells sync its current members' rows changed (see syncRows).
    setChannelHead: prepare<[number, number, number, string]>(
      `UPDATE channels SET last_seq = ?, last_activity_at = ?, version = ? WHERE id = ?`,
    ),
    setChannelAfterChange: prepare<[string | null, number, number, number, string]>(
      `UPDATE channels SET name = coalesce(?, name), last_seq = ?, member_count = ?, last_activity_at = ? WHERE id = ?`,
    ),

    // members
    // Watermarks start just before the joining event: what came earlier is
    // history, not unread, and the event itself is the one new thing.
    insertMember: prepare<[string, string, Role, number, number, number, number, number]>(
      `INSERT INTO members (channel_id, user_id, role, joined_at, joined_seq, version, read_seq, delivered_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    member: prepare<[string, string], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members WHERE channel_id = ? AND user_id = ?`,
    ),
    // The send path's first look at a channel: its head and the sender's membership in one probe.
    // A direct channel between two users either of whom blocked the other is `blocked`.
    headAndSender: prepare<[string, string], { last_seq: number; is_member: number; left_seq: number | null; blocked: number }>(
      `SELECT c.last_seq, m.user_id IS NOT NULL AS is_member, m.left_seq,
              c.kind = 'direct' AND EXISTS (
                SELECT 1 FROM members p
                JOIN members q ON q.channel_id = p.channel_id AND q.user_id <> p.user_id
                JOIN blocks b ON b.blocker_id = p.user_id AND b.blocked_id = q.user_id
                WHERE p.channel_id = c.id) AS blocked
       FROM channels c LEFT JOIN members m ON m.channel_id = c.id AND m.user_id = ?
       WHERE c.id = ?`,
    ),
    // After a commit grew a channel: who must learn of it.
    currentMemberIds: pluck<[string], string>(`SELECT user_id FROM members WHERE channel_id = ? AND left_seq IS NULL`),
    takeVersions: pluck<[number], number>(`UPDATE meta SET value = value + ? WHERE key = 'version' RETURNING value`),
    currentMembers: prepare<[string], MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM members WHERE channel_id = ? AND left_seq IS NULL ORDER BY joined_seq, joined_at, user_id`,
    ),
    // A returning member's watermarks move to just before the event, as for a new member.
    rejoinMember: prepare<[Role, number, number, number, number, string, string]>(
      `UPDATE members SET role = ?, joined_at = ?, joined_seq = ?, left_seq = NULL,
         read_seq = max(read_seq, ?), delivered_seq = max(delivered_seq, ?)
       WHERE channel_id = ? AND user_id = ?`,
    ),
    removeMember: prepare<[number, string, string]>(
      `UPDATE members SET left_seq = ? WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL`,
    ),
    setRole: prepare<[Role, string, string]>(
      `UPDATE members SET role = ? WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL`,
    ),
    raiseSenderWatermarks: prepare<[number, number, string, string]>(
      `UPDATE members SET read_seq = max(read_seq, ?), delivered_seq = max(delivered_seq, ?) WHERE channel_id = ? AND user_id = ?`,
    ),
    // A null version leaves the row's version as it is.
    setWatermarks: prepare<[number, number, number | null, string, string]>(
      `UPDATE members SET delivered_seq = ?, read_seq = ?, version = coalesce(?, version) WHERE channel_id = ? AND user_id = ?`,
    ),
    // The rows bumped are exactly the members who must learn of the change
    // (the current ones and those it removed), so RETURNING doubles as the
    // fan-out list.
    bumpCurrentAndLeaving: pluck<[number, string, number], string>(
      `UPDATE members SET version = ? WHERE channel_id = ? AND (left_seq IS NULL OR left_seq = ?) RETURNING user_id`,
    ),
    memberships: prepare<[string], MembershipRow>(
      `SELECT c.id AS c_id, c.kind AS c_kind, c.name AS c_name, c.created_by AS c_created_by,
              c.created_at AS c_created_at, c.last_seq AS c_last_seq, c.member_count AS c_member_count,
              m.channel_id, m.user_id, m.role, m.joined_at, m.joined_seq, m.left_seq, m.delivered_seq, m.read_seq, m.muted_until,
              g.channel_id AS msg_channel_id, g.seq AS msg_seq, g.sender_id AS msg_sender_id,
              g.client_id AS msg_client_id, g.kind AS msg_kind, g.text AS msg_text, g.system AS msg_system,
              g.created_at AS msg_created_at,
              CASE WHEN c.kind = 'direct' THEN
                (SELECT p.user_id FROM members p WHERE p.channel_id = c.id AND p.user_id <> m.user_id)
              END AS peer_id
       FROM members m
       JOIN channels c ON c.id = m.channel_id
       -- seq is gap-free, so the newest readable message is exactly at the readable maximum.
       LEFT JOIN messages g ON g.channel_id = c.id
         AND g.seq = CASE WHEN m.left_seq IS NULL THEN c.last_seq ELSE min(c.last_seq, m.left_seq) END
       WHERE m.user_id = ?
       ORDER BY c.last_activity_at DESC, c.id`,
    ),
    directPeers: pluck<[string], string>(
      `SELECT p.user_id FROM members m
       JOIN channels c ON c.id = m.channel_id AND c.kind = 'direct'
       JOIN members p ON p.channel_id = m.channel_id AND p.user_id <> m.user_id
       WHERE m.user_id = ?`,
    ),

    // messages
    insertMessage: prepare<[string, number, string, string | null, string, 'text' | 'system', string, string | null, number]>(
      `INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, system, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // A send: inserted unless its send key exists (then nothing changes and the caller looks the original up).
    insertSend: prepare<[string, number, string, string, string, string, number]>(
      `INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, system, created_at)
       VALUES (?, ?, ?, ?, ?, 'text', ?, NULL, ?)
       ON CONFLICT (channel_id, sender_device_id, client_id) DO NOTHING`,
    ),
    messageBySendKey: prepare<[string, string, string], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND sender_device_id = ? AND client_id = ?`,
    ),
    // Both page directions are range scans of the (channel_id, seq) index,
    // reading limit + 1 rows to learn whether there is more.
    messagesAscending: prepare<[string, number, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT CAST(? AS INTEGER)`,
    ),
    messagesDescending: prepare<[string, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND seq < ? ORDER BY seq DESC LIMIT CAST(? AS INTEGER)`,
    ),

    setMuted: prepare<[number | null, number, string, string], MemberRow>(
      `UPDATE members SET muted_until = ?, version = ? WHERE channel_id = ? AND user_id = ? AND left_seq IS NULL
       RETURNING ${MEMBER_COLUMNS}`,
    ),

    // push
    otherHolders: pluck<[string, string, string], string>(
      `SELECT device_id FROM push_registrations WHERE kind = ? AND target = ? AND device_id <> ?`,
    ),
    deleteRegistrationByTarget: prepare<[string, string]>(`DELETE FROM push_registrations WHERE kind = ? AND target = ?`),
    upsertRegistration: prepare<[string, string, string, string, string | null, string | null, number]>(
      `INSERT INTO push_registrations (device_id, user_id, kind, target, p256dh, auth, created_at)
       VALUES (?, (SELECT user_id FROM devices WHERE id = ?), ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind, target = excluded.target,
         p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
    ),
    registration: prepare<[string], PushRegistrationRow>(`SELECT kind, target, p256dh, auth FROM push_registrations WHERE device_id = ?`),
    deleteRegistration: prepare<[string]>(`DELETE FROM push_registrations WHERE device_id = ?`),
    deleteDeviceJobs: prepare<[string]>(`DELETE FROM push_jobs WHERE device_id = ?`),
    // One row per registered device of every other current, unmuted member;
    // a row that exists takes the message into its count. A pending due time
    // stays (that is the coalescing); a new one waits out the minimum interval.
    enqueuePush: prepare<[{ channelId: string; seq: number; senderId: string; at: number; dueAt: number; minInterval: number }]>(
      `INSERT INTO push_jobs (device_id, channel_id, user_id, message_count, last_seq, due_at, created_at)
       SELECT r.device_id, m.channel_id, m.user_id, 1, @seq, @dueAt, @at
       FROM members m JOIN push_registrations r ON r.user_id = m.user_id
       WHERE m.channel_id = @channelId AND m.left_seq IS NULL AND m.user_id <> @senderId
         AND (m.muted_until IS NULL OR m.muted_until <= @at)
       ON CONFLICT (device_id, channel_id) DO UPDATE SET
         message_count = message_count + 1,
         last_seq = max(last_seq, excluded.last_seq),
         due_at = coalesce(due_at, max(excluded.due_at, coalesce(last_pushed_at, 0) + @minInterval))`,
    ),
    dueJobs: prepare<[number, number], PushJobRow>(
      `SELECT j.device_id, j.user_id, j.channel_id, j.message_count, j.last_seq, j.notified_seq, j.attempts, j.created_at,
              r.kind, r.target, r.p256dh, r.auth
       FROM push_jobs j LEFT JOIN push_registrations r ON r.device_id = j.device_id
       WHERE j.due_at <= ? ORDER BY j.due_at LIMIT CAST(? AS INTEGER)`,
    ),
    anyDue: pluck<[number], number>(`SELECT 1 FROM push_jobs WHERE due_at <= ? LIMIT 1`),
    leaseJob: prepare<[number, string, string]>(`UPDATE push_jobs SET due_at = ? WHERE device_id = ? AND channel_id = ?`),
    jobState: prepare<[string, string], { message_count: number; last_seq: number }>(
      `SELECT message_count, last_seq FROM push_jobs WHERE device_id = ? AND channel_id = ?`,
    ),
    jobNotified: prepare<[number, number, number | null, string, string]>(
      `UPDATE push_jobs SET notified_seq = max(notified_seq, ?), attempts = 0, last_pushed_at = ?, due_at = ?
       WHERE device_id = ? AND channel_id = ?`,
    ),
    jobRequeue: prepare<[number, number, string, string]>(
      `UPDATE push_jobs SET due_at = ?, attempts = ? WHERE device_id = ? AND channel_id = ?`,
    ),
    deleteJob: prepare<[string, string]>(`DELETE FROM push_jobs WHERE device_id = ? AND channel_id = ?`),
    clearDelivered: prepare<[string, string, number]>(
      `DELETE FROM push_jobs WHERE device_id = ? AND channel_id = ? AND last_seq <= ?`,
    ),
    readDropPending: prepare<[string, string, number]>(
      `DELETE FROM push_jobs WHERE user_id = ? AND channel_id = ? AND last_seq <= ? AND notified_seq = 0`,
    ),
    readClearShown: prepare<[number, string, string, number]>(
      `UPDATE push_jobs SET message_count = 0, attempts = 0, due_at = ?
       WHERE user_id = ? AND channel_id = ? AND last_seq <= ? AND notified_seq > 0`,
    ),

    // sync
    nextVersion: pluck<[], number>(`UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value`),
    headVersion: pluck<[], number>(`SELECT value FROM meta WHERE key = 'version'`),
    // A row's version is its own (joins, leaves, reads, mutes) or, while the
    // user is a member, its channel's (messages), whichever is later. A
    // message so writes one channel row instead of every member row and its
    // index entry; the price is that sync reads all of a user's memberships,
    // not only the changed ones.
    syncRows: prepare<[string, number, number, number], SyncRow>(
      `SELECT m.channel_id, m.joined_seq, m.left_seq, m.read_seq, m.muted_until, c.last_seq,
              CASE WHEN m.left_seq IS NULL AND c.version > m.version THEN c.version ELSE m.version END AS version
       FROM members m JOIN channels c ON c.id = m.channel_id
       WHERE m.user_id = ? AND (m.version > ? OR (m.left_seq IS NULL AND c.version > ?))
       ORDER BY version
       LIMIT CAST(? AS INTEGER)`,
    ),

    // passwords
    setPasswordHash: prepare<[string, string]>(`UPDATE users SET password_hash = ? WHERE id = ?`),
    otherLiveDevices: pluck<[string, string], string>(
      `SELECT id FROM devices WHERE user_id = ? AND id <> ? AND revoked_at IS NULL ORDER BY id`,
    ),

    // blocks
    insertBlock: prepare<[string, string, number]>(
      `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?) ON CONFLICT (blocker_id, blocked_id) DO NOTHING`,
    ),
    deleteBlock: prepare<[string, string]>(`DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?`),
    blocksBy: prepare<[string], { blocked_id: string; created_at: number }>(
      `SELECT blocked_id, created_at FROM blocks WHERE blocker_id = ? ORDER BY created_at DESC, blocked_id`,
    ),
    blockedBetween: pluck<[string, string, string, string], number>(
      `SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?) LIMIT 1`,
    ),
    blockRelations: pluck<[string, string], string>(
      `SELECT blocked_id FROM blocks WHERE blocker_id = ? UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?`,
    ),
    // For each channel the user is a current member of, the candidates who are too.
    contactsAmong: pluck<[string, string], string>(
      `SELECT DISTINCT o.user_id
       FROM members me
       JOIN members o ON o.channel_id = me.channel_id AND o.left_seq IS NULL AND o.user_id <> me.user_id
       WHERE me.user_id = ? AND me.left_seq IS NULL
         AND o.user_id IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = o.user_id)
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = o.user_id AND b.blocked_id = me.user_id)`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The embedded Store: one SQLite file in WAL mode, accessed through
 * better-sqlite3 on Node and bun:sqlite on Bun (see sqlite-driver.ts). Every operation is one synchronous transaction, so when the
 * returned promise resolves the transaction has committed (and, with
 * synchronous=FULL, is on disk).
 */
export class SqliteStore implements Store {
  private readonly q: Statements;
  private closed = false;

  private constructor(private readonly db: SqliteDatabase) {
    this.q = prepareStatements(db);
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path !== ':memory:') {
      mkdirSync(dirname(options.path), { recursive: true });
    }
    const db = openSqlite(options.path);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      // The default page cache (2 MiB) is far smaller than the indexes a send
      // touches; past it every insert rereads B-tree pages through the kernel.
      db.pragma('cache_size = -65536');
      migrate(db);
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** A write transaction; IMMEDIATE takes the write lock up front instead of upgrading mid-way. */
  private write<R>(fn: () => R): R {
    return this.db.transaction('immediate', fn);
  }

  /** A read transaction, for reads of several statements that must see one snapshot. */
  private read<R>(fn: () => R): R {
    return this.db.transaction('deferred', fn);
  }

  /**
   * Takes the next value of the store-wide sync counter. Called once per
   * channel per transaction (not once per transaction): a user's rows in two
   * channels touched by the same commit must get distinct versions, or a sync
   * page ending between them would skip the second.
   */
  private nextVersion(): number {
    return this.q.nextVersion.get()!;
  }

  // --- accounts -------------------------------------------------------------

  async createUser(user: UserRecord): Promise<void> {
    this.write(() => {
      if (this.q.userByUsername.get(user.username)) throw new AppError('username_taken');
      this.q.insertUser.run(user.id, user.username, user.displayName, user.passwordHash, user.createdAt, user.lastSeen);
    });
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = this.q.userById.get(id);
    return row ? toUser(row) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const row = this.q.userByUsername.get(username);
    return row ? toUser(row) : null;
  }

  async getUsers(ids: readonly string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    return this.q.usersByIds.all(JSON.stringify(ids)).map(toUser);
  }

  async searchUsers(prefix: string, limit: number): Promise<UserRecord[]> {
    // Every string starting with `prefix` sorts below prefix + U+FFFF (usernames are ASCII).
    return this.q.searchUsers.all(prefix, `${prefix}\uffff`, Math.max(0, limit)).map(toUser);
  }

  async updateDisplayName(userId: string, displayName: string): Promise<void> {
    this.q.updateDisplayName.run(displayName, userId);
  }

  async setLastSeen(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    this.write(() => {
      for (const [userId, at] of seen) this.q.setLastSeen.run(at, userId);
    });
  }

  async createDevice(device: DeviceRecord, tokenHash: string): Promise<void> {
    this.q.insertDevice.run(
      device.id,
      device.userId,
      device.name,
      device.platform,
      tokenHash,
      device.createdAt,
      device.lastActiveAt,
    );
  }

  async findDeviceByTokenHash(tokenHash: string): Promise<{ device: DeviceRecord; user: UserRecord } | null> {
    const row = this.q.deviceByToken.get(tokenHash);
    if (!row) return null;
    return {
      device: toDevice(row),
      user: toUser({
        id: row.u_id,
        username: row.u_username,
        display_name: row.u_display_name,
        password_hash: row.u_password_hash,
        created_at: row.u_created_at,
        last_seen: row.u_last_seen,
      }),
    };
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    return this.q.devicesByUser.all(userId).map(toDevice);
  }

  async revokeDevice(userId: string, deviceId: string, at: number): Promise<boolean> {
    return this.write(() => {
      if (this.q.revokeDevice.run(at, deviceId, userId).changes === 0) return false;
      this.q.deleteRegistration.run(deviceId);
      this.q.deleteDeviceJobs.run(deviceId);
      return true;
    });
  }

  // --- push registrations ---------------------------------------------------

  async setPushRegistration(deviceId: string, registration: PushRegistration, at: number): Promise<void> {
    const row = toPushRegistrationRow(registration);
    this.write(() => {
      const current = this.q.registration.get(deviceId);
      if (current && (current.kind !== row.kind || current.target !== row.target)) this.q.deleteDeviceJobs.run(deviceId);
      // The target moves to this device; the device it leaves loses its pending pushes.
      for (const other of this.q.otherHolders.all(row.kind, row.target, deviceId)) this.q.deleteDeviceJobs.run(other);
      this.q.deleteRegistrationByTarget.run(row.kind, row.target);
      this.q.upsertRegistration.run(deviceId, deviceId, row.kind, row.target, row.p256dh, row.auth, at);
    });
  }

  async getPushRegistration(deviceId: string): Promise<PushRegistration | null> {
    const row = this.q.registration.get(deviceId);
    return row ? toPushRegistration(row) : null;
  }

  async deletePushRegistration(deviceId: string, only?: PushRegistration): Promise<boolean> {
    return this.write(() => {
      const current = this.q.registration.get(deviceId);
      if (!current) return false;
      if (only && !samePushRegistration(current, toPushRegistrationRow(only))) return false;
      this.q.deleteRegistration.run(deviceId);
      this.q.deleteDeviceJobs.run(deviceId);
      return true;
    });
  }

  async touchDevice(deviceId: string, at: number): Promise<void> {
    this.q.touchDevice.run(at, deviceId);
  }

  async setPassword(userId: string, passwordHash: string, keepDeviceId: string, at: number): Promise<string[]> {
    return this.write(() => {
      this.q.setPasswordHash.run(passwordHash, userId);
      const others = this.q.otherLiveDevices.all(userId, keepDeviceId);
      for (const deviceId of others) {
        this.q.revokeDevice.run(at, deviceId, userId);
        this.q.deleteRegistration.run(deviceId);
        this.q.deleteDeviceJobs.run(deviceId);
      }
      return others;
    });
  }

  // --- blocks ---------------------------------------------------------------

  async block(blockerId: string, blockedId: string, at: number): Promise<void> {
    this.q.insertBlock.run(blockerId, blockedId, at);
  }

  async unblock(blockerId: string, blockedId: string): Promise<boolean> {
    return this.q.deleteBlock.run(blockerId, blockedId).changes > 0;
  }

  async listBlocks(blockerId: string): Promise<{ userId: string; blockedAt: number }[]> {
    return this.q.blocksBy.all(blockerId).map((r) => ({ userId: r.blocked_id, blockedAt: r.created_at }));
  }

  async isBlockedBetween(userA: string, userB: string): Promise<boolean> {
    return this.q.blockedBetween.get(userA, userB, userB, userA) !== undefined;
  }

  async blockRelations(userId: string): Promise<string[]> {
    return this.q.blockRelations.all(userId, userId);
  }

  async contactsAmong(userId: string, candidates: readonly string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    return this.q.contactsAmong.all(userId, JSON.stringify(candidates));
  }

  // --- channels -------------------------------------------------------------

  async getOrCreateDirect(
    id: string,
    userA: string,
    userB: string,
    createdAt: number,
  ): Promise<{ channel: ChannelRecord; created: boolean }> {
    if (userA === userB) throw new AppError('bad_request', 'A direct channel needs two different users.');
    // JSON keeps the pair unambiguous whatever characters the ids contain.
    const directKey = JSON.stringify(userA < userB ? [userA, userB] : [userB, userA]);
    return this.write(() => {
      const existing = this.q.channelByDirectKey.get(directKey);
      if (existing) return { channel: toChannel(existing), created: false };
      this.q.insertChannel.run(id, 'direct', null, directKey, userA, createdAt, 0, 2, createdAt);
      // A new channel is news to both users' other devices.
      const version = this.nextVersion();
      this.q.insertMember.run(id, userA, 'member', createdAt, 1, version, 0, 0);
      this.q.insertMember.run(id, userB, 'member', createdAt, 1, version, 0, 0);
      return { channel: toChannel(this.q.channelById.get(id)!), created: true };
    });
  }

  async findDirect(userA: string, userB: string): Promise<ChannelRecord | null> {
    const row = this.q.channelByDirectKey.get(JSON.stringify(userA < userB ? [userA, userB] : [userB, userA]));
    return row ? toChannel(row) : null;
  }

  async createGroup(group: NewGroup): Promise<ChannelChangeResult> {
    const others = [...new Set(group.memberIds)].filter((userId) => userId !== group.ownerId);
    const at = group.createdAt;
    return this.write(() => {
      this.q.insertChannel.run(group.id, 'group', group.name, null, group.ownerId, at, 1, others.length + 1, at);
      const version = this.nextVersion();
      this.q.insertMember.run(group.id, group.ownerId, 'owner', at, 1, version, 0, 0);
      for (const userId of others) this.q.insertMember.run(group.id, userId, 'member', at, 1, version, 0, 0);
      const message = this.insertSystemMessage(group.id, 1, group.ownerId, group.system, at);
      // Like a send, an event one causes is read by its author.
      this.q.raiseSenderWatermarks.run(1, 1, group.id, group.ownerId);
      return {
        channel: toChannel(this.q.channelById.get(group.id)!),
        message,
        recipients: [group.ownerId, ...others],
      };
    });
  }

  async getChannel(channelId: string): Promise<ChannelRecord | null> {
    const row = this.q.channelById.get(channelId);
    return row ? toChannel(row) : null;
  }

  async getMember(channelId: string, userId: string): Promise<MemberRecord | null> {
    const row = this.q.member.get(channelId, userId);
    return row ? toMember(row) : null;
  }

  async listMembers(channelId: string): Promise<MemberRecord[]> {
    return this.q.currentMembers.all(channelId).map(toMember);
  }

  async changeChannel(
    channelId: string,
    decide: (state: ChannelState) => ChannelChange,
    at: number,
  ): Promise<ChannelChangeResult | null> {
    // `decide` runs inside the transaction: if it throws, better-sqlite3 rolls
    // back and rethrows, so a refused change writes nothing.
    return this.write(() => {
      const channelRow = this.q.channelById.get(channelId);
      if (!channelRow) return null;
      const members = this.q.currentMembers.all(channelId).map(toMember);
      const change = decide({ channel: toChannel(channelRow), members });
      const seq = channelRow.last_seq + 1;
      let memberCount = channelRow.member_count;

      for (const { userId, role } of change.add ?? []) {
        const existing = this.q.member.get(channelId, userId);
        if (existing && existing.left_seq === null) throw new AppError('already_member');
        if (existing) this.q.rejoinMember.run(role, at, seq, seq - 1, seq - 1, channelId, userId);
        // The version is set below together with everyone else's.
        else this.q.insertMember.run(channelId, userId, role, at, seq, 0, seq - 1, seq - 1);
        memberCount++;
      }
      for (const userId of change.remove ?? []) {
        if (this.q.removeMember.run(seq, channelId, userId).changes === 0) throw new AppError('not_member');
        memberCount--;
      }
      for (const { userId, role } of change.roles ?? []) {
        if (this.q.setRole.run(role, channelId, userId).changes === 0) throw new AppError('not_member');
      }

      const message = this.insertSystemMessage(channelId, seq, change.system.actorId, change.system, at);
      this.q.raiseSenderWatermarks.run(seq, seq, channelId, change.system.actorId);
      this.q.setChannelAfterChange.run(change.rename ?? null, seq, memberCount, at, channelId);
      // Members removed by this change have left_seq = seq: they get the version
      // bump (sync shows them `left`) and the event, and nothing after it.
      const recipients = this.q.bumpCurrentAndLeaving.all(this.nextVersion(), channelId, seq);
      return { channel: toChannel(this.q.channelById.get(channelId)!), message, recipients };
    });
  }

  async listMemberships(userId: string): Promise<MembershipView[]> {
    return this.q.memberships.all(userId).map(toMembershipView);
  }

  async listDirectPeers(userId: string): Promise<string[]> {
    return this.q.directPeers.all(userId);
  }

  async setMuted(channelId: string, userId: string, mutedUntil: number | null): Promise<MemberRecord | null> {
    return this.write(() => {
      const row = this.q.setMuted.get(mutedUntil, this.nextVersion(), channelId, userId);
      // Unmuting or muting does not touch pending jobs: a muted channel's
      // jobs are dropped when they come due (the worker checks the mute).
      return row ? toMember(row) : null;
    });
  }

  // --- messages -------------------------------------------------------------

  async appendMessages(requests: readonly AppendRequest[], at: number, push?: PushPolicy): Promise<AppendBatchResult> {
    return this.write(() => {
      // Per channel seen in this batch: its running last_seq (null: no such channel).
      const heads = new Map<string, { lastSeq: number; grew: boolean; blocked: boolean } | null>();
      // Per (channel, sender): the seq the sender's watermarks move to, applied once at the end.
      const senders = new Map<string, { channelId: string; senderId: string; seq: number }>();
      // Membership of (channel, sender) pairs already looked at in this batch.
      const membership = new Map<string, boolean>();
      const results: AppendResult[] = [];

      for (const req of requests) {
        const memberKey = `${req.channelId}\u0000${req.senderId}`;
        let head = heads.get(req.channelId);
        if (head === undefined) {
          const row = this.q.headAndSender.get(req.senderId, req.channelId);
          head = row ? { lastSeq: row.last_seq, grew: false, blocked: row.blocked === 1 } : null;
          heads.set(req.channelId, head);
          if (row) membership.set(memberKey, row.is_member === 1 && row.left_seq === null);
        }
        if (head === null) {
          results.push({ ok: false, code: 'channel_not_found' });
          continue;
        }
        let isMember = membership.get(memberKey);
        if (isMember === undefined) {
          const m = this.q.member.get(req.channelId, req.senderId);
          membership.set(memberKey, (isMember = m !== undefined && m.left_seq === null));
        }
        // The send key decides before membership: a retry of a send that
        // committed before its sender was removed still gets its original
        // ack. A member's send is tried as an insert that the send key's
        // unique index turns into nothing for a repeat (also one within this
        // batch); only then is the original read.
        const seq = head.lastSeq + 1;
        if (isMember && !head.blocked && this.q.insertSend.run(req.channelId, seq, req.senderId, req.senderDeviceId, req.clientId, req.text, at).changes === 1) {
          head.lastSeq = seq;
          head.grew = true;
          if (push) {
            this.q.enqueuePush.run({ channelId: req.channelId, seq, senderId: req.senderId, at, dueAt: push.dueAt, minInterval: push.minIntervalMs });
          }
          senders.set(memberKey, { channelId: req.channelId, senderId: req.senderId, seq });
          results.push({
            ok: true,
            message: { channelId: req.channelId, seq, senderId: req.senderId, clientId: req.clientId, kind: 'text', text: req.text, createdAt: at },
            duplicate: false,
          });
          continue;
        }
        const existing = this.q.messageBySendKey.get(req.channelId, req.senderDeviceId, req.clientId);
        if (existing) {
          results.push(
            existing.text === req.text
              ? { ok: true, message: toMessage(existing), duplicate: true }
              : { ok: false, code: 'idempotency_conflict' },
          );
        } else {
          results.push({ ok: false, code: isMember ? 'blocked' : 'not_member' });
        }
      }

      const grown = [...heads].filter((entry): entry is [string, { lastSeq: number; grew: boolean; blocked: boolean }] => entry[1]?.grew === true);
      const recipients = new Map<string, string[]>();
      if (grown.length === 0) return { results, recipients };
      // One version per grown channel (a user's rows in two channels of one
      // commit must not share one), taken from the counter in one step.
      let version = this.q.takeVersions.get(grown.length)! - grown.length;
      for (const [channelId, head] of grown) {
        this.q.setChannelHead.run(head.lastSeq, at, ++version, channelId);
        recipients.set(channelId, this.q.currentMemberIds.all(channelId));
      }
      // A sender has read what they sent; sync carries it through the channel's version.
      for (const w of senders.values()) this.q.raiseSenderWatermarks.run(w.seq, w.seq, w.channelId, w.senderId);
      return { results, recipients };
    });
  }

  async getMessages(channelId: string, range: HistoryRange): Promise<HistoryPage> {
    const limit = Math.max(0, Math.floor(range.limit));
    // Exclusive upper bound combining `before` and `maxSeq`.
    const upper = Math.min(range.before ?? NO_BOUND, range.maxSeq !== undefined ? range.maxSeq + 1 : NO_BOUND);
    if (range.after !== undefined) {
      // Forward from `after` (also when `before` is given: the oldest end of the window).
      const rows = this.q.messagesAscending.all(channelId, range.after, upper, limit + 1);
      return { messages: rows.slice(0, limit).map(toMessage), hasMore: rows.length > limit };
    }
    // Backward from `before` (or from the newest message).
    const rows = this.q.messagesDescending.all(channelId, upper, limit + 1);
    return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
  }

  // --- sync and receipts ----------------------------------------------------

  async sync(userId: string, cursor: string | null, limit: number): Promise<SyncPage> {
    return this.read(() => {
      const head = this.q.headVersion.get()!;
      if (cursor === null) return { cursor: String(head), hasMore: false, entries: [] };
      const from = CURSOR_PATTERN.test(cursor) ? Number(cursor) : NaN;
      if (!Number.isSafeInteger(from) || from > head) throw new AppError('bad_request', 'Unknown sync cursor.');

      const pageSize = Math.max(1, Math.floor(limit));
      const rows = this.q.syncRows.all(userId, from, from, pageSize + 1);
      const hasMore = rows.length > pageSize;
      const page = rows.slice(0, pageSize);
      const entries = page.map(
        (r): SyncEntry => ({
          channelId: r.channel_id,
          lastSeq: r.left_seq === null ? r.last_seq : Math.min(r.last_seq, r.left_seq),
          joinedSeq: r.joined_seq,
          readSeq: r.read_seq,
          left: r.left_seq !== null,
          mutedUntil: r.muted_until,
        }),
      );
      // A complete page has seen every row of this user up to the head (same
      // snapshot), so the client may jump there and skip other users' versions.
      const next = hasMore ? page[page.length - 1]!.version : head;
      return { cursor: String(next), hasMore, entries };
    });
  }

  async updateReceipts(updates: readonly ReceiptUpdate[]): Promise<ReceiptChange[]> {
    if (updates.length === 0) return [];
    return this.write(() => {
      // Keyed by (channel, user) so a row updated twice is reported once, with its final values.
      const changed = new Map<string, ReceiptChange>();
      const channels = new Map<string, number | null>();
      for (const u of updates) {
        let lastSeq = channels.get(u.channelId);
        if (lastSeq === undefined) {
          lastSeq = this.q.channelById.get(u.channelId)?.last_seq ?? null;
          channels.set(u.channelId, lastSeq);
        }
        if (lastSeq === null) continue;
        const m = this.q.member.get(u.channelId, u.userId);
        if (!m) continue;
        const readable = m.left_seq === null ? lastSeq : Math.min(lastSeq, m.left_seq);
        const readSeq = Math.max(m.read_seq, Math.min(u.readSeq ?? 0, readable));
        const deliveredSeq = Math.max(m.delivered_seq, readSeq, Math.min(u.deliveredSeq ?? 0, readable));
        if (readSeq === m.read_seq && deliveredSeq === m.delivered_seq) continue;
        // Only the reader's own devices care about their read watermark through
        // sync; delivered alone is live-only information and bumps nothing.
        const version = readSeq !== m.read_seq ? this.nextVersion() : null;
        this.q.setWatermarks.run(deliveredSeq, readSeq, version, u.channelId, u.userId);
        changed.set(JSON.stringify([u.channelId, u.userId]), { channelId: u.channelId, userId: u.userId, deliveredSeq, readSeq });
      }
      return [...changed.values()];
    });
  }

  // --- push jobs ------------------------------------------------------------

  async claimPushJobs(now: number, limit: number, leaseUntil: number): Promise<PushJob[]> {
    // Every node polls several times a second: nothing due must cost no write (and no fsync).
    if (this.q.anyDue.get(now) === undefined) return [];
    return this.write(() => {
      const rows = this.q.dueJobs.all(now, Math.max(1, Math.floor(limit)));
      for (const r of rows) this.q.leaseJob.run(leaseUntil, r.device_id, r.channel_id);
      return rows.map(toPushJob);
    });
  }

  async settlePushJob(job: PushJob, settlement: PushSettlement): Promise<void> {
    this.write(() => {
      const row = this.q.jobState.get(job.deviceId, job.channelId);
      if (!row) return;
      // Messages (or a read) arrived while the job was out: keep it for them.
      const changed = row.last_seq !== job.lastSeq || row.message_count !== job.count;
      switch (settlement.kind) {
        case 'retry':
          this.q.jobRequeue.run(settlement.dueAt, job.attempts + 1, job.deviceId, job.channelId);
          return;
        case 'notified':
          this.q.jobNotified.run(job.lastSeq, settlement.at, changed ? settlement.nextDueAt : null, job.deviceId, job.channelId);
          return;
        case 'done':
          if (changed) this.q.jobRequeue.run(settlement.nextDueAt, 0, job.deviceId, job.channelId);
          else this.q.deleteJob.run(job.deviceId, job.channelId);
          return;
      }
    });
  }

  async clearPushJobs(acks: readonly DeliveredAck[]): Promise<void> {
    if (acks.length === 0) return;
    this.write(() => {
      for (const a of acks) this.q.clearDelivered.run(a.deviceId, a.channelId, a.seq);
    });
  }

  async pushChannelsRead(reads: readonly { userId: string; channelId: string; readSeq: number }[], at: number): Promise<void> {
    if (reads.length === 0) return;
    this.write(() => {
      for (const r of reads) {
        this.q.readDropPending.run(r.userId, r.channelId, r.readSeq);
        this.q.readClearShown.run(at, r.userId, r.channelId, r.readSeq);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private insertSystemMessage(
    channelId: string,
    seq: number,
    actorId: string,
    system: { text: string; event: SystemEvent },
    at: number,
  ): Message {
    // No device sent it, and the client id only has to be unique in the channel.
    const clientId = `sys:${channelId}:${seq}`;
    this.q.insertMessage.run(channelId, seq, actorId, null, clientId, 'system', system.text, JSON.stringify(system.event), at);
    return { channelId, seq, senderId: actorId, clientId, kind: 'system', text: system.text, createdAt: at, system: system.event };
  }
}
