import pg from 'pg';
import { MAX_SYNC_CURSOR_LENGTH, type Message, type SyncEntry, type SystemEvent } from '@confab/protocol';
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
  samePushRegistration,
  toChannel,
  toDevice,
  toMember,
  toMembershipView,
  toMessage,
  toPushJob,
  toPushRegistration,
  toPushRegistrationRow,
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
import { SCHEMA_NAME_PATTERN, migrate } from './postgres-migrations.js';

export interface PostgresStoreOptions {
  /** A libpq-style connection URL, e.g. postgres://user:pass@host:5432/db. */
  url: string;
  /** Schema holding every table (created if missing). Default `public`. */
  schema?: string;
  /** Connections in this node's pool. Default 10. */
  poolSize?: number;
}

/*
 * The distributed Store: any number of server nodes share one PostgreSQL
 * database. It mirrors SqliteStore's semantics; what differs is how
 * concurrent writers on different nodes are kept apart.
 *
 * Transactions run at READ COMMITTED with explicit row locks, always taken in
 * the same order, so writers serialize where they must and cannot deadlock:
 *
 *   1. channel rows, sorted by id: FOR UPDATE by every writer that changes a
 *      channel (appends, membership changes); FOR SHARE by receipt updates,
 *      which only read last_seq but must not interleave with those writers.
 *      Every write to an existing channel's member rows happens under one of
 *      these, so appends and membership changes never wait for a member row,
 *      and receipt updates only wait for each other, in order 2. (A new
 *      channel's rows are invisible to others until its creation commits.)
 *   2. member rows, sorted by (channel_id, user_id): FOR UPDATE by receipt
 *      updates (several of them may hold the same channel FOR SHARE).
 *
 * Sync versions are transaction ids: every write a member's devices must learn
 * of (a message, a membership change, a read watermark, a mute) stamps its
 * rows with pg_current_xact_id(). No lock is needed for that, so commits of
 * different channels from any number of nodes never wait for each other. (The
 * versions came from one counter row before, locked until commit to keep
 * version order equal to commit order; that row serialized every commit of
 * the cluster.) A transaction id is handed out when a transaction starts
 * writing, not when it commits, so a lower one can still commit after a
 * reader has seen a higher one. Sync therefore reads against its snapshot's
 * horizon, the oldest transaction id still running (pg_snapshot_xmin): every
 * transaction below it has ended, so everything it wrote is either visible or
 * never will be. Rows at or above it (committed by transactions that started
 * after one still running) are returned too, but the cursor only advances to
 * the horizon, and names those rows, with both their versions, so that the
 * next sync neither skips a later change nor returns them again unchanged.
 *
 * Every method is one transaction: either an explicit BEGIN ... COMMIT on one
 * pooled connection (rolled back on any error), or a single statement, which
 * PostgreSQL runs as its own transaction (atomic) and which saves the round
 * trips of BEGIN and COMMIT. The hot writers are such single statements: a
 * batch of sends is a call of the database function confab_append (see the
 * migrations), a batch of receipts one statement (applyReceipts). Both take
 * the locks above in the same order and hold them for the database's own
 * work and the commit, not across round trips to a node whose event loop is
 * busy. Serialization failures and deadlocks are
 * retried a few times; losing the database surfaces as AppError('unavailable'),
 * which clients retry.
 */

// --- row shapes, as pg returns them (int8 parsed to number, see `open`) --------

interface SyncRow {
  horizon: number;
  channel_id: string | null;
  joined_seq: number;
  left_seq: number | null;
  read_seq: number;
  muted_until: number | null;
  last_seq: number;
  mv: number;
  cv: number;
  version: number;
  settled: boolean;
}



/** A row of confab_append: a request's outcome (i from 1), or a recipient (i null). */
interface AppendRow {
  i: number | null;
  code: string | null;
  seq: number | null;
  created_at: number | null;
  channel_id: string | null;
  user_id: string | null;
}

const USER_COLUMNS = 'id, username, display_name, password_hash, created_at, last_seen';
const DEVICE_COLUMNS = 'id, user_id, name, platform, created_at, last_active_at';
const CHANNEL_COLUMNS = 'id, kind, name, created_by, created_at, last_seq, member_count';
const MEMBER_COLUMNS = 'channel_id, user_id, role, joined_at, joined_seq, left_seq, delivered_seq, read_seq, muted_until';
const MESSAGE_COLUMNS = 'channel_id, seq, sender_id, client_id, kind, text, system, created_at';

/** Larger than any seq; stands for "no upper bound" in range scans. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** This transaction's sync version: its id, assigned now if it has none yet. */
const TX_VERSION = 'pg_current_xact_id()::text::bigint';
/** The snapshot's horizon: the oldest transaction id still running. */
const HORIZON = 'pg_snapshot_xmin(pg_current_snapshot())::text::bigint';

/** A cursor issued before versions were transaction ids: a plain number. It means "from the beginning". */
const LEGACY_CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Where a device's sync stands: every row up to (version, channel) has been
 * returned (channel null: all of that version), and so have the rows named in
 * `seen` (channel, own version, channel version) as long as they are unchanged.
 */
interface SyncPosition {
  version: number;
  channel: string | null;
  seen: [string, number, number][];
}

/** Past the protocol's longest cursor the rows above the horizon are not named, and come again once. */
function encodeCursor(p: SyncPosition): string {
  const full = Buffer.from(JSON.stringify([p.version, p.channel, p.seen])).toString('base64url');
  if (full.length <= MAX_SYNC_CURSOR_LENGTH) return full;
  return Buffer.from(JSON.stringify([p.version, p.channel, []])).toString('base64url');
}

/** How a cursor names a row returned from above the horizon. */
function seenOf(r: SyncRow): SyncPosition['seen'][number] {
  return [r.channel_id!, r.mv, r.cv];
}

function decodeCursor(cursor: string): SyncPosition {
  if (LEGACY_CURSOR_PATTERN.test(cursor)) return { version: -1, channel: null, seen: [] };
  const bad = new AppError('bad_request', 'Unknown sync cursor.');
  if (cursor.length > MAX_SYNC_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(value) || value.length !== 3) throw bad;
  const [version, channel, seen] = value as unknown[];
  if (!isVersion(version) || (channel !== null && typeof channel !== 'string') || !Array.isArray(seen)) throw bad;
  for (const s of seen) {
    if (!Array.isArray(s) || s.length !== 3 || typeof s[0] !== 'string' || !isVersion(s[1]) || !isVersion(s[2])) throw bad;
  }
  return { version, channel, seen: seen as SyncPosition['seen'] };
}

/** Attempts of a transaction that failed on a serialization failure or a deadlock. */
const MAX_ATTEMPTS = 4;

interface Statement {
  name: string;
  text: string;
}

/**
 * Every statement the store runs. Each has a name, so pg prepares it once per
 * connection and afterwards only binds and executes it: these are on the hot
 * path. Lists travel as arrays (`unnest`), so one statement serves any batch.
 */
const SQL = {
  // accounts
  insertUser: `INSERT INTO users (${USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING`,
  userById: `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`,
  userByUsername: `SELECT ${USER_COLUMNS} FROM users WHERE username = $1`,
  usersByIds: `SELECT ${USER_COLUMNS} FROM users WHERE id = ANY($1::text[])`,
  // A range on the unique username index (collation "C": byte order).
  searchUsers: `SELECT ${USER_COLUMNS} FROM users WHERE username >= $1 AND username < $2 ORDER BY username LIMIT $3`,
  updateDisplayName: `UPDATE users SET display_name = $1 WHERE id = $2`,
  // Rows locked in id order, so two nodes writing overlapping batches cannot deadlock.
  setLastSeen: `UPDATE users SET last_seen = v.at FROM (SELECT * FROM unnest($1::text[], $2::bigint[]) AS v(id, at) ORDER BY id) v WHERE users.id = v.id`,

  insertDevice: `INSERT INTO devices (id, user_id, name, platform, token_hash, created_at, last_active_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  deviceByToken: `SELECT d.id, d.user_id, d.name, d.platform, d.created_at, d.last_active_at,
           u.id AS u_id, u.username AS u_username, u.display_name AS u_display_name,
           u.password_hash AS u_password_hash, u.created_at AS u_created_at, u.last_seen AS u_last_seen
    FROM devices d JOIN users u ON u.id = d.user_id
    WHERE d.token_hash = $1 AND d.revoked_at IS NULL`,
  devicesByUser: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`,
  revokeDevice: `UPDATE devices SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
  touchDevice: `UPDATE devices SET last_active_at = $1 WHERE id = $2 AND revoked_at IS NULL`,

  // channels
  channelById: `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = $1`,
  lockChannel: `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = $1 FOR UPDATE`,
  shareChannels: `SELECT id, last_seq FROM channels WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,
  channelByDirectKey: `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE direct_key = $1`,
  // Two nodes creating the same pair at once: the second waits for the first
  // to commit, inserts nothing, and then reads the first one's channel.
  insertDirect: `INSERT INTO channels (id, kind, name, direct_key, created_by, created_at, last_seq, member_count, last_activity_at)
    VALUES ($1, 'direct', NULL, $2, $3, $4, 0, 2, $4)
    ON CONFLICT (direct_key) DO NOTHING
    RETURNING ${CHANNEL_COLUMNS}`,
  insertGroup: `INSERT INTO channels (id, kind, name, direct_key, created_by, created_at, last_seq, member_count, last_activity_at)
    VALUES ($1, 'group', $2, NULL, $3, $4, 1, $5, $4)
    RETURNING ${CHANNEL_COLUMNS}`,
  setChannelAfterChange: `UPDATE channels SET name = coalesce($1, name), last_seq = $2, member_count = $3, last_activity_at = $4
    WHERE id = $5
    RETURNING ${CHANNEL_COLUMNS}`,

  // members
  // The founders of a new channel, with this transaction's sync version.
  insertFounders: `INSERT INTO members (channel_id, user_id, role, joined_at, joined_seq, version, read_seq, delivered_seq)
    SELECT $1, f.user_id, f.role, $2, 1, ${TX_VERSION}, f.watermark, f.watermark
    FROM unnest($3::text[], $4::text[], $5::bigint[]) AS f(user_id, role, watermark)`,
  // Watermarks start just before the joining event: what came earlier is
  // history, not unread, and the event itself is the one new thing. The
  // version is set below together with everyone else's.
  insertMember: `INSERT INTO members (channel_id, user_id, role, joined_at, joined_seq, version, read_seq, delivered_seq)
    VALUES ($1, $2, $3, $4, $5, 0, $6, $6)`,
  member: `SELECT ${MEMBER_COLUMNS} FROM members WHERE channel_id = $1 AND user_id = $2`,
  currentMembers: `SELECT ${MEMBER_COLUMNS} FROM members WHERE channel_id = $1 AND left_seq IS NULL ORDER BY joined_seq, joined_at, user_id`,
  // A returning member's watermarks move to just before the event, as for a new member.
  rejoinMember: `UPDATE members SET role = $1, joined_at = $2, joined_seq = $3, left_seq = NULL,
      read_seq = greatest(read_seq, $4), delivered_seq = greatest(delivered_seq, $4)
    WHERE channel_id = $5 AND user_id = $6`,
  removeMember: `UPDATE members SET left_seq = $1 WHERE channel_id = $2 AND user_id = $3 AND left_seq IS NULL`,
  setRole: `UPDATE members SET role = $1 WHERE channel_id = $2 AND user_id = $3 AND left_seq IS NULL`,
  raiseWatermarks: `UPDATE members SET read_seq = greatest(read_seq, $1), delivered_seq = greatest(delivered_seq, $1)
    WHERE channel_id = $2 AND user_id = $3`,
  // After a membership change: current members and those it removed (left_seq
  // = its seq) get the new version; they are exactly who must hear of it.
  bumpCurrentAndLeaving: `UPDATE members m SET version = ${TX_VERSION}
    WHERE m.channel_id = $1 AND (m.left_seq IS NULL OR m.left_seq = $2)
    RETURNING m.user_id`,
  memberships: `SELECT c.id AS c_id, c.kind AS c_kind, c.name AS c_name, c.created_by AS c_created_by,
           c.created_at AS c_created_at, c.last_seq AS c_last_seq, c.member_count AS c_member_count,
           m.channel_id, m.user_id, m.role, m.joined_at, m.joined_seq, m.left_seq, m.delivered_seq, m.read_seq, m.muted_until,
           g.channel_id AS msg_channel_id, g.seq AS msg_seq, g.sender_id AS msg_sender_id,
           g.client_id AS msg_client_id, g.kind AS msg_kind, g.text AS msg_text, g.system AS msg_system,
           g.created_at AS msg_created_at,
           CASE WHEN c.kind = 'direct' THEN
             (SELECT p.user_id FROM members p WHERE p.channel_id = c.id AND p.user_id <> m.user_id LIMIT 1)
           END AS peer_id
    FROM members m
    JOIN channels c ON c.id = m.channel_id
    -- seq is gap-free, so the newest readable message is exactly at the readable maximum.
    LEFT JOIN messages g ON g.channel_id = c.id
      AND g.seq = CASE WHEN m.left_seq IS NULL THEN c.last_seq ELSE least(c.last_seq, m.left_seq) END
    WHERE m.user_id = $1
    ORDER BY c.last_activity_at DESC, c.id`,
  directPeers: `SELECT p.user_id FROM members m
    JOIN channels c ON c.id = m.channel_id AND c.kind = 'direct'
    JOIN members p ON p.channel_id = m.channel_id AND p.user_id <> m.user_id
    WHERE m.user_id = $1`,

  // messages
  insertSystemMessage: `INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, system, created_at)
    VALUES ($1, $2, $3, NULL, $4, 'system', $5, $6, $7)`,
  // A batch of sends in one round trip (see confab_append in the migrations).
  append: `SELECT i, code, seq, created_at, channel_id, user_id
    FROM confab_append($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint, $7::boolean, $8::bigint, $9::bigint)`,
  // Both page directions are range scans of the (channel_id, seq) primary key,
  // reading limit + 1 rows to learn whether there is more.
  messagesAscending: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq ASC LIMIT $4`,
  messagesDescending: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,

  // sync
  // The horizon and a page in one statement, so both come from one snapshot.
  // A row's version is its own (joins, leaves, reads, mutes) or, while the
  // user is a member, its channel's (messages), whichever is later: a message
  // writes one channel row instead of every member row, and sync reads all of
  // the user's memberships instead of only the changed ones. Rows after the
  // position ($2 version, $3 channel within it or null for all of it), less
  // those the cursor names unchanged ($4-$6); below the horizon a page of $7
  // in (version, channel) order, at or above it all of them.
  syncRows: `WITH h AS (SELECT ${HORIZON} AS horizon),
    r AS (
      SELECT m.channel_id, m.joined_seq, m.left_seq, m.read_seq, m.muted_until, c.last_seq, m.version AS mv,
             CASE WHEN m.left_seq IS NULL THEN c.version ELSE 0 END AS cv
      FROM members m JOIN channels c ON c.id = m.channel_id
      WHERE m.user_id = $1 AND (m.version >= $2 OR (m.left_seq IS NULL AND c.version >= $2))
    ),
    e AS (
      SELECT r.*, greatest(r.mv, r.cv) AS version FROM r
      WHERE (greatest(r.mv, r.cv) > $2 OR (greatest(r.mv, r.cv) = $2 AND $3::text IS NOT NULL AND r.channel_id > $3))
        AND NOT EXISTS (
          SELECT 1 FROM unnest($4::text[], $5::bigint[], $6::bigint[]) AS s(channel_id, mv, cv)
          WHERE s.channel_id = r.channel_id AND s.mv = r.mv AND s.cv = r.cv
        )
    )
    SELECT h.horizon, p.* FROM h LEFT JOIN LATERAL (
      (SELECT e.*, true AS settled FROM e WHERE e.version < h.horizon ORDER BY e.version, e.channel_id LIMIT $7)
      UNION ALL
      (SELECT e.*, false AS settled FROM e WHERE e.version >= h.horizon)
    ) p ON true`,

  // passwords: the user row, then the other devices (the order revokeDevice takes them in).
  setPasswordHash: `UPDATE users SET password_hash = $1 WHERE id = $2`,
  revokeOtherDevices: `UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id`,
  deleteRegistrations: `DELETE FROM push_registrations WHERE device_id = ANY($1::text[])`,
  deleteDevicesJobs: `DELETE FROM push_jobs WHERE device_id = ANY($1::text[])`,

  // blocks
  insertBlock: `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (blocker_id, blocked_id) DO NOTHING`,
  deleteBlock: `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`,
  blocksBy: `SELECT blocked_id, created_at FROM blocks WHERE blocker_id = $1 ORDER BY created_at DESC, blocked_id`,
  blockedBetween: `SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1`,
  blockRelations: `SELECT blocked_id AS user_id FROM blocks WHERE blocker_id = $1 UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1`,
  // For each channel the user is a current member of, the candidates who are too.
  contactsAmong: `SELECT DISTINCT o.user_id
    FROM members me
    JOIN members o ON o.channel_id = me.channel_id AND o.left_seq IS NULL AND o.user_id <> me.user_id
    WHERE me.user_id = $1 AND me.left_seq IS NULL AND o.user_id = ANY($2::text[])
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = o.user_id)
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = o.user_id AND b.blocked_id = me.user_id)`,

  // receipts
  // A batch in one statement, so that its locks are held for the database's
  // own work and not across round trips to the node. Lock order 1 (shared)
  // for every channel of the batch, sorted, all taken first (the InitPlan
  // reading `ch` runs before any member row is read), then lock order 2: the
  // member rows, sorted. Each row moves to the reported watermarks clamped to
  // what the member can read; only changed rows are written and returned, and
  // a read that moved takes this transaction's sync version.
  applyReceipts: `WITH u AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(channel_id, user_id, delivered, read)
    ), ch AS MATERIALIZED (
      SELECT c.id, c.last_seq FROM channels c WHERE c.id IN (SELECT channel_id FROM u) ORDER BY c.id FOR SHARE
    ), locked AS MATERIALIZED (
      SELECT m.channel_id, m.user_id, m.left_seq, m.delivered_seq, m.read_seq
      FROM members m JOIN u ON m.channel_id = u.channel_id AND m.user_id = u.user_id
      WHERE m.channel_id = ANY ((SELECT array_agg(id) FROM ch)::text[])
      ORDER BY m.channel_id, m.user_id
      FOR UPDATE OF m
    ), next AS (
      SELECT l.channel_id, l.user_id, l.read_seq AS old_read, l.delivered_seq AS old_delivered,
        greatest(l.read_seq, least(u.read, r.readable)) AS read_seq,
        greatest(l.delivered_seq, least(u.read, r.readable), least(u.delivered, r.readable)) AS delivered_seq
      FROM locked l
      JOIN u ON u.channel_id = l.channel_id AND u.user_id = l.user_id
      JOIN ch ON ch.id = l.channel_id
      CROSS JOIN LATERAL (SELECT CASE WHEN l.left_seq IS NULL THEN ch.last_seq ELSE least(ch.last_seq, l.left_seq) END AS readable) r
    )
    UPDATE members m SET delivered_seq = n.delivered_seq, read_seq = n.read_seq,
      version = CASE WHEN n.read_seq <> n.old_read THEN ${TX_VERSION} ELSE m.version END
    FROM next n
    WHERE m.channel_id = n.channel_id AND m.user_id = n.user_id
      AND (n.read_seq <> n.old_read OR n.delivered_seq <> n.old_delivered)
    RETURNING m.channel_id, m.user_id, m.delivered_seq, m.read_seq`,

  // mute (lock order 1 shared, then 2, like receipts)
  lockMember: `SELECT user_id FROM members WHERE channel_id = $1 AND user_id = $2 AND left_seq IS NULL FOR UPDATE`,
  setMuted: `UPDATE members m SET muted_until = $3, version = ${TX_VERSION}
    WHERE m.channel_id = $1 AND m.user_id = $2 AND m.left_seq IS NULL
    RETURNING ${MEMBER_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}`,

  // push registrations
  registration: `SELECT kind, target, p256dh, auth FROM push_registrations WHERE device_id = $1`,
  lockRegistration: `SELECT kind, target, p256dh, auth FROM push_registrations WHERE device_id = $1 FOR UPDATE`,
  // The target moves to this device; the device it leaves loses its pending pushes.
  releaseTarget: `WITH gone AS (
      DELETE FROM push_registrations WHERE kind = $1 AND target = $2 AND device_id <> $3 RETURNING device_id
    )
    DELETE FROM push_jobs j USING gone WHERE j.device_id = gone.device_id`,
  upsertRegistration: `INSERT INTO push_registrations (device_id, user_id, kind, target, p256dh, auth, created_at)
    SELECT $1, d.user_id, $2, $3, $4, $5, $6 FROM devices d WHERE d.id = $1
    ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind, target = excluded.target,
      p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
  deleteRegistration: `DELETE FROM push_registrations WHERE device_id = $1`,
  deleteDeviceJobs: `DELETE FROM push_jobs WHERE device_id = $1`,

  // Due jobs another node is not already taking (SKIP LOCKED), leased in the same statement.
  claimJobs: `WITH due AS (
      SELECT device_id, channel_id FROM push_jobs
      WHERE due_at <= $1 ORDER BY due_at LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), leased AS (
      UPDATE push_jobs j SET due_at = $3 FROM due
      WHERE j.device_id = due.device_id AND j.channel_id = due.channel_id
      RETURNING j.device_id, j.user_id, j.channel_id, j.message_count, j.last_seq, j.notified_seq, j.attempts, j.created_at
    )
    SELECT l.*, r.kind, r.target, r.p256dh, r.auth
    FROM leased l LEFT JOIN push_registrations r ON r.device_id = l.device_id`,
  lockJob: `SELECT message_count, last_seq FROM push_jobs WHERE device_id = $1 AND channel_id = $2 FOR UPDATE`,
  jobNotified: `UPDATE push_jobs SET notified_seq = greatest(notified_seq, $1), attempts = 0, last_pushed_at = $2, due_at = $3
    WHERE device_id = $4 AND channel_id = $5`,
  jobRequeue: `UPDATE push_jobs SET due_at = $1, attempts = $2 WHERE device_id = $3 AND channel_id = $4`,
  deleteJob: `DELETE FROM push_jobs WHERE device_id = $1 AND channel_id = $2`,
  clearDelivered: `DELETE FROM push_jobs j
    USING (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS a(device_id, channel_id, seq) ORDER BY 1, 2) a
    WHERE j.device_id = a.device_id AND j.channel_id = a.channel_id AND j.last_seq <= a.seq`,
  readDropPending: `DELETE FROM push_jobs j
    USING unnest($1::text[], $2::text[], $3::bigint[]) AS r(user_id, channel_id, read_seq)
    WHERE j.user_id = r.user_id AND j.channel_id = r.channel_id AND j.last_seq <= r.read_seq AND j.notified_seq = 0`,
  readClearShown: `UPDATE push_jobs j SET message_count = 0, attempts = 0, due_at = $4
    FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r(user_id, channel_id, read_seq)
    WHERE j.user_id = r.user_id AND j.channel_id = r.channel_id AND j.last_seq <= r.read_seq AND j.notified_seq > 0`,
} as const;

const Q = Object.fromEntries(Object.entries(SQL).map(([name, text]) => [name, { name: `confab_${name}`, text }])) as {
  [K in keyof typeof SQL]: Statement;
};

/** A parameterized run of a named statement. */
function bind(statement: Statement, values: unknown[]): pg.QueryConfig {
  return { name: statement.name, text: statement.text, values };
}

// --- errors ----------------------------------------------------------------------

const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Errors pg and pg-pool raise without a code when the connection is gone or cannot be made. */
const UNAVAILABLE_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Cannot use a pool after calling end on the pool',
]);

/** Whether `err` means the database cannot be reached right now (lost connection, restart, overload). */
export function isUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE class 08: connection exceptions.
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code)) return true;
  }
  if (UNAVAILABLE_MESSAGES.has(err.message)) return true;
  // Connecting to a host name with several addresses fails with all of their errors.
  if (err instanceof AggregateError) return err.errors.some(isUnavailableError);
  return err.cause !== undefined && isUnavailableError(err.cause);
}

/** The error a Store method raises for `err`: retryable AppError('unavailable') when the database is out of reach. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  return isUnavailableError(err) ? new AppError('unavailable') : err;
}

/**
 * Failures after which running the whole transaction again is safe and
 * likely to succeed: serialization failures, deadlocks (the victim rolled
 * back), and the send-key backstop (a concurrent identical send committed
 * first; the retry finds it and answers duplicate).
 */
function isRetryable(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '40001' || e.code === '40P01' || (e.code === '23505' && e.constraint === 'messages_send_key');
}

/**
 * The store backed by PostgreSQL: safe to share between any number of nodes,
 * each with its own pool. See the comment at the top of this file for the
 * locking and versioning rules.
 */
export class PostgresStore implements Store {
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME_PATTERN.test(schema)) {
      throw new Error(`Invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and underscores.`);
    }
    // bigint columns (seqs, versions, millisecond times) as JS numbers, for
    // this pool only; every value they hold stays below 2^53.
    const types = new pg.TypeOverrides();
    types.setTypeParser(20, (value: string) => Number(value));
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      types,
      // Fail (retryably) instead of hanging when the server cannot be reached.
      connectionTimeoutMillis: 10_000,
      // Every connection of this pool resolves table names in the store's
      // schema. Named statements are prepared after this, in that schema.
      onConnect: async (client) => {
        await client.query(`SET search_path TO ${schema}`);
      },
    });
    // An idle connection that breaks (e.g. the server restarts) is dropped
    // by the pool; without a listener the error would crash the process.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await migrate(client, schema);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw toStoreError(err);
    }
    return new PostgresStore(pool);
  }

  /**
   * Runs `fn` in one transaction on one pooled connection: COMMIT when it
   * resolves, ROLLBACK (and rethrow) when it throws. Retried from the start
   * on a serialization failure or deadlock, so `fn` must only decide from
   * what it reads in the transaction.
   */
  private async transaction<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(fn);
      } catch (err) {
        if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
        throw toStoreError(err);
      }
    }
  }

  private async attempt<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    const client = await this.pool.connect();
    // A connection that broke must be destroyed, not returned to the pool.
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    // While checked out, the pool does not listen for the connection's errors.
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (broken === undefined && isUnavailableError(err)) broken = err as Error;
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** One statement, which PostgreSQL runs as a transaction of its own. */
  private async run<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(bind(statement, values));
      } catch (err) {
        if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
        throw toStoreError(err);
      }
    }
  }

  // --- accounts -------------------------------------------------------------

  async createUser(user: UserRecord): Promise<void> {
    const result = await this.run(Q.insertUser, [
      user.id,
      user.username,
      user.displayName,
      user.passwordHash,
      user.createdAt,
      user.lastSeen,
    ]);
    if (result.rowCount === 0) throw new AppError('username_taken');
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const { rows } = await this.run<UserRow>(Q.userById, [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const { rows } = await this.run<UserRow>(Q.userByUsername, [username]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async getUsers(ids: readonly string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.run<UserRow>(Q.usersByIds, [[...ids]]);
    return rows.map(toUser);
  }

  async searchUsers(prefix: string, limit: number): Promise<UserRecord[]> {
    // Every string starting with `prefix` sorts below prefix + U+FFFF (usernames are ASCII).
    const { rows } = await this.run<UserRow>(Q.searchUsers, [prefix, `${prefix}\uffff`, Math.max(0, Math.floor(limit))]);
    return rows.map(toUser);
  }

  async updateDisplayName(userId: string, displayName: string): Promise<void> {
    await this.run(Q.updateDisplayName, [displayName, userId]);
  }

  async setLastSeen(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    const ids = [...seen.keys()].sort();
    await this.run(Q.setLastSeen, [ids, ids.map((id) => seen.get(id))]);
  }

  async createDevice(device: DeviceRecord, tokenHash: string): Promise<void> {
    await this.run(Q.insertDevice, [
      device.id,
      device.userId,
      device.name,
      device.platform,
      tokenHash,
      device.createdAt,
      device.lastActiveAt,
    ]);
  }

  async findDeviceByTokenHash(tokenHash: string): Promise<{ device: DeviceRecord; user: UserRecord } | null> {
    const { rows } = await this.run<DeviceWithUserRow>(Q.deviceByToken, [tokenHash]);
    const row = rows[0];
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
    const { rows } = await this.run<DeviceRow>(Q.devicesByUser, [userId]);
    return rows.map(toDevice);
  }

  async revokeDevice(userId: string, deviceId: string, at: number): Promise<boolean> {
    return this.transaction(async (c) => {
      const result = await c.query(bind(Q.revokeDevice, [at, deviceId, userId]));
      if ((result.rowCount ?? 0) === 0) return false;
      await c.query(bind(Q.deleteRegistration, [deviceId]));
      await c.query(bind(Q.deleteDeviceJobs, [deviceId]));
      return true;
    });
  }

  // --- push registrations ---------------------------------------------------

  async setPushRegistration(deviceId: string, registration: PushRegistration, at: number): Promise<void> {
    const row = toPushRegistrationRow(registration);
    await this.transaction(async (c) => {
      const current = (await c.query<PushRegistrationRow>(bind(Q.lockRegistration, [deviceId]))).rows[0];
      if (current && (current.kind !== row.kind || current.target !== row.target)) await c.query(bind(Q.deleteDeviceJobs, [deviceId]));
      await c.query(bind(Q.releaseTarget, [row.kind, row.target, deviceId]));
      await c.query(bind(Q.upsertRegistration, [deviceId, row.kind, row.target, row.p256dh, row.auth, at]));
    });
  }

  async getPushRegistration(deviceId: string): Promise<PushRegistration | null> {
    const row = (await this.run<PushRegistrationRow>(Q.registration, [deviceId])).rows[0];
    return row ? toPushRegistration(row) : null;
  }

  async deletePushRegistration(deviceId: string, only?: PushRegistration): Promise<boolean> {
    return this.transaction(async (c) => {
      const current = (await c.query<PushRegistrationRow>(bind(Q.lockRegistration, [deviceId]))).rows[0];
      if (!current) return false;
      if (only && !samePushRegistration(current, toPushRegistrationRow(only))) return false;
      await c.query(bind(Q.deleteRegistration, [deviceId]));
      await c.query(bind(Q.deleteDeviceJobs, [deviceId]));
      return true;
    });
  }

  async touchDevice(deviceId: string, at: number): Promise<void> {
    await this.run(Q.touchDevice, [at, deviceId]);
  }

  async setPassword(userId: string, passwordHash: string, keepDeviceId: string, at: number): Promise<string[]> {
    return this.transaction(async (c) => {
      await c.query(bind(Q.setPasswordHash, [passwordHash, userId]));
      const revoked = (await c.query<{ id: string }>(bind(Q.revokeOtherDevices, [at, userId, keepDeviceId]))).rows.map((r) => r.id).sort();
      if (revoked.length > 0) {
        await c.query(bind(Q.deleteRegistrations, [revoked]));
        await c.query(bind(Q.deleteDevicesJobs, [revoked]));
      }
      return revoked;
    });
  }

  // --- blocks ---------------------------------------------------------------

  async block(blockerId: string, blockedId: string, at: number): Promise<void> {
    await this.run(Q.insertBlock, [blockerId, blockedId, at]);
  }

  async unblock(blockerId: string, blockedId: string): Promise<boolean> {
    return ((await this.run(Q.deleteBlock, [blockerId, blockedId])).rowCount ?? 0) > 0;
  }

  async listBlocks(blockerId: string): Promise<{ userId: string; blockedAt: number }[]> {
    const { rows } = await this.run<{ blocked_id: string; created_at: number }>(Q.blocksBy, [blockerId]);
    return rows.map((r) => ({ userId: r.blocked_id, blockedAt: r.created_at }));
  }

  async isBlockedBetween(userA: string, userB: string): Promise<boolean> {
    return ((await this.run(Q.blockedBetween, [userA, userB])).rowCount ?? 0) > 0;
  }

  async blockRelations(userId: string): Promise<string[]> {
    const { rows } = await this.run<{ user_id: string }>(Q.blockRelations, [userId]);
    return rows.map((r) => r.user_id);
  }

  async contactsAmong(userId: string, candidates: readonly string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    const { rows } = await this.run<{ user_id: string }>(Q.contactsAmong, [userId, [...candidates]]);
    return rows.map((r) => r.user_id);
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
    return this.transaction(async (c) => {
      const existing = await c.query<ChannelRow>(bind(Q.channelByDirectKey, [directKey]));
      if (existing.rows[0]) return { channel: toChannel(existing.rows[0]), created: false };
      const inserted = await c.query<ChannelRow>(bind(Q.insertDirect, [id, directKey, userA, createdAt]));
      if (!inserted.rows[0]) {
        // Another node created the pair's channel meanwhile (and has committed).
        const winner = await c.query<ChannelRow>(bind(Q.channelByDirectKey, [directKey]));
        return { channel: toChannel(winner.rows[0]!), created: false };
      }
      // A new channel is news to both users' other devices.
      await c.query(bind(Q.insertFounders, [id, createdAt, [userA, userB], ['member', 'member'], [0, 0]]));
      return { channel: toChannel(inserted.rows[0]), created: true };
    });
  }

  async findDirect(userA: string, userB: string): Promise<ChannelRecord | null> {
    const { rows } = await this.run<ChannelRow>(Q.channelByDirectKey, [JSON.stringify(userA < userB ? [userA, userB] : [userB, userA])]);
    return rows[0] ? toChannel(rows[0]) : null;
  }

  async createGroup(group: NewGroup): Promise<ChannelChangeResult> {
    const others = [...new Set(group.memberIds)].filter((userId) => userId !== group.ownerId);
    const at = group.createdAt;
    return this.transaction(async (c) => {
      // The new row is locked by its insert until commit: nobody else sees the channel before then.
      const inserted = await c.query<ChannelRow>(bind(Q.insertGroup, [group.id, group.name, group.ownerId, at, others.length + 1]));
      const message = await insertSystemMessage(c, group.id, 1, group.ownerId, group.system, at);
      // Like a send, an event one causes is read by its author: the owner starts at seq 1.
      await c.query(
        bind(Q.insertFounders, [
          group.id,
          at,
          [group.ownerId, ...others],
          ['owner', ...others.map(() => 'member')],
          [1, ...others.map(() => 0)],
        ]),
      );
      return { channel: toChannel(inserted.rows[0]!), message, recipients: [group.ownerId, ...others] };
    });
  }

  async getChannel(channelId: string): Promise<ChannelRecord | null> {
    const { rows } = await this.run<ChannelRow>(Q.channelById, [channelId]);
    return rows[0] ? toChannel(rows[0]) : null;
  }

  async getMember(channelId: string, userId: string): Promise<MemberRecord | null> {
    const { rows } = await this.run<MemberRow>(Q.member, [channelId, userId]);
    return rows[0] ? toMember(rows[0]) : null;
  }

  async listMembers(channelId: string): Promise<MemberRecord[]> {
    const { rows } = await this.run<MemberRow>(Q.currentMembers, [channelId]);
    return rows.map(toMember);
  }

  async changeChannel(
    channelId: string,
    decide: (state: ChannelState) => ChannelChange,
    at: number,
  ): Promise<ChannelChangeResult | null> {
    return this.transaction(async (c) => {
      // Lock order 1: the channel row first; the decision then rests on state no one else can change.
      const channelRow = (await c.query<ChannelRow>(bind(Q.lockChannel, [channelId]))).rows[0];
      if (!channelRow) return null;
      const members = (await c.query<MemberRow>(bind(Q.currentMembers, [channelId]))).rows.map(toMember);
      // If `decide` throws, the transaction rolls back and nothing is written.
      const change = decide({ channel: toChannel(channelRow), members });
      const seq = channelRow.last_seq + 1;
      let memberCount = channelRow.member_count;

      for (const { userId, role } of change.add ?? []) {
        const existing = (await c.query<MemberRow>(bind(Q.member, [channelId, userId]))).rows[0];
        if (existing && existing.left_seq === null) throw new AppError('already_member');
        if (existing) await c.query(bind(Q.rejoinMember, [role, at, seq, seq - 1, channelId, userId]));
        else await c.query(bind(Q.insertMember, [channelId, userId, role, at, seq, seq - 1]));
        memberCount++;
      }
      for (const userId of change.remove ?? []) {
        if ((await c.query(bind(Q.removeMember, [seq, channelId, userId]))).rowCount === 0) throw new AppError('not_member');
        memberCount--;
      }
      for (const { userId, role } of change.roles ?? []) {
        if ((await c.query(bind(Q.setRole, [role, channelId, userId]))).rowCount === 0) throw new AppError('not_member');
      }

      const message = await insertSystemMessage(c, channelId, seq, change.system.actorId, change.system, at);
      await c.query(bind(Q.raiseWatermarks, [seq, channelId, change.system.actorId]));
      const updated = await c.query<ChannelRow>(bind(Q.setChannelAfterChange, [change.rename ?? null, seq, memberCount, at, channelId]));
      // Members removed by this change have left_seq = seq: they get the version
      // bump (sync shows them `left`) and the event, and nothing after it.
      const bumped = await c.query<{ user_id: string }>(bind(Q.bumpCurrentAndLeaving, [channelId, seq]));
      return { channel: toChannel(updated.rows[0]!), message, recipients: bumped.rows.map((r) => r.user_id) };
    });
  }

  async listMemberships(userId: string): Promise<MembershipView[]> {
    const { rows } = await this.run<MembershipRow>(Q.memberships, [userId]);
    return rows.map(toMembershipView);
  }

  async listDirectPeers(userId: string): Promise<string[]> {
    const { rows } = await this.run<{ user_id: string }>(Q.directPeers, [userId]);
    return rows.map((r) => r.user_id);
  }

  async setMuted(channelId: string, userId: string, mutedUntil: number | null): Promise<MemberRecord | null> {
    return this.transaction(async (c) => {
      await c.query(bind(Q.shareChannels, [[channelId]]));
      const locked = await c.query(bind(Q.lockMember, [channelId, userId]));
      if (locked.rowCount === 0) return null;
      const { rows } = await c.query<MemberRow>(bind(Q.setMuted, [channelId, userId, mutedUntil]));
      return rows[0] ? toMember(rows[0]) : null;
    });
  }

  // --- messages -------------------------------------------------------------

  async appendMessages(requests: readonly AppendRequest[], at: number, push?: PushPolicy): Promise<AppendBatchResult> {
    if (requests.length === 0) return { results: [], recipients: new Map() };
    // One call, one transaction, one round trip: the decisions (send key,
    // membership, block, seq) are made in the database under the channel
    // locks, by confab_append (see the migrations).
    const { rows } = await this.run<AppendRow>(Q.append, [
      requests.map((r) => r.channelId),
      requests.map((r) => r.senderDeviceId),
      requests.map((r) => r.clientId),
      requests.map((r) => r.senderId),
      requests.map((r) => r.text),
      at,
      push !== undefined,
      push?.dueAt ?? null,
      push?.minIntervalMs ?? null,
    ]);
    const results: AppendResult[] = new Array(requests.length);
    const recipients = new Map<string, string[]>();
    for (const row of rows) {
      if (row.i === null) {
        const members = recipients.get(row.channel_id!);
        if (members) members.push(row.user_id!);
        else recipients.set(row.channel_id!, [row.user_id!]);
        continue;
      }
      const req = requests[row.i - 1]!;
      if (row.code === null || row.code === 'duplicate') {
        const duplicate = row.code === 'duplicate';
        const message: Message = {
          channelId: req.channelId,
          seq: row.seq!,
          senderId: duplicate ? row.user_id! : req.senderId,
          clientId: req.clientId,
          kind: 'text',
          text: req.text,
          createdAt: duplicate ? row.created_at! : at,
        };
        results[row.i - 1] = { ok: true, message, duplicate };
      } else {
        results[row.i - 1] = { ok: false, code: row.code as Extract<AppendResult, { ok: false }>['code'] };
      }
    }
    return { results, recipients };
  }

  async getMessages(channelId: string, range: HistoryRange): Promise<HistoryPage> {
    const limit = Math.max(0, Math.floor(range.limit));
    // Exclusive upper bound combining `before` and `maxSeq`.
    const upper = Math.min(range.before ?? NO_BOUND, range.maxSeq !== undefined ? range.maxSeq + 1 : NO_BOUND);
    if (range.after !== undefined) {
      // Forward from `after` (also when `before` is given: the oldest end of the window).
      const { rows } = await this.run<MessageRow>(Q.messagesAscending, [channelId, range.after, upper, limit + 1]);
      return { messages: rows.slice(0, limit).map(toMessage), hasMore: rows.length > limit };
    }
    // Backward from `before` (or from the newest message).
    const { rows } = await this.run<MessageRow>(Q.messagesDescending, [channelId, upper, limit + 1]);
    return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
  }

  // --- sync and receipts ----------------------------------------------------

  async sync(userId: string, cursor: string | null, limit: number): Promise<SyncPage> {
    const read = (from: SyncPosition, settledLimit: number): Promise<pg.QueryResult<SyncRow>> =>
      this.run<SyncRow>(Q.syncRows, [
        userId,
        from.version,
        from.channel,
        from.seen.map((s) => s[0]),
        from.seen.map((s) => s[1]),
        from.seen.map((s) => s[2]),
        settledLimit,
      ]);
    if (cursor === null) {
      // "From now": the horizon, and the rows already committed above it named
      // as seen, so that the next sync does not report them as changes.
      const { rows } = await read({ version: -1, channel: null, seen: [] }, 0);
      const above = rows.filter((r) => r.channel_id !== null && !r.settled).map(seenOf);
      return { cursor: encodeCursor({ version: rows[0]!.horizon - 1, channel: null, seen: above }), hasMore: false, entries: [] };
    }
    const from = decodeCursor(cursor);
    const pageSize = Math.max(1, Math.floor(limit));
    const { rows: all } = await read(from, pageSize + 1);
    const horizon = all[0]!.horizon;
    // Every position this store issued is below the horizon it was read at, and horizons only rise.
    if (from.version >= horizon) throw new AppError('bad_request', 'Unknown sync cursor.');
    // Without matches, the outer join yields one row of nulls beside the horizon.
    const rows = all.filter((r) => r.channel_id !== null);
    const settled = rows.filter((r) => r.settled);
    const hasMore = settled.length > pageSize;
    let page: SyncRow[];
    let next: SyncPosition;
    if (hasMore) {
      // A page of what is below the horizon; the rest of it, and what is above, on later pages.
      page = settled.slice(0, pageSize);
      const last = page[page.length - 1]!;
      const after = (s: SyncPosition['seen'][number]): boolean => {
        const version = Math.max(s[1], s[2]);
        return version > last.version || (version === last.version && s[0] > last.channel_id!);
      };
      next = { version: last.version, channel: last.channel_id, seen: from.seen.filter(after) };
    } else {
      // All of it: the cursor moves to the horizon (nothing below it can still
      // change unseen) and names the rows returned from above it.
      const above = rows.filter((r) => !r.settled).sort((a, b) => a.version - b.version || (a.channel_id! < b.channel_id! ? -1 : 1));
      page = [...settled, ...above];
      const named = new Set(above.map((r) => r.channel_id!));
      next = {
        version: horizon - 1,
        channel: null,
        seen: [
          ...from.seen.filter((s) => Math.max(s[1], s[2]) >= horizon && !named.has(s[0])),
          ...above.map(seenOf),
        ],
      };
    }
    // Nothing changed: the cursor given is still exact, and the device need not store a new one.
    if (page.length === 0 && !LEGACY_CURSOR_PATTERN.test(cursor)) return { cursor, hasMore: false, entries: [] };
    const entries = page.map(
      (r): SyncEntry => ({
        channelId: r.channel_id!,
        lastSeq: r.left_seq === null ? r.last_seq : Math.min(r.last_seq, r.left_seq),
        joinedSeq: r.joined_seq,
        readSeq: r.read_seq,
        left: r.left_seq !== null,
        mutedUntil: r.muted_until,
      }),
    );
    return { cursor: encodeCursor(next), hasMore, entries };
  }

  async updateReceipts(updates: readonly ReceiptUpdate[]): Promise<ReceiptChange[]> {
    if (updates.length === 0) return [];
    // Watermarks only rise, so a batch applied in order ends where the
    // highest report of each row does: one entry per row, in order of first
    // mention (the order changes are reported in).
    const merged = new Map<string, { channelId: string; userId: string; delivered: number; read: number }>();
    for (const u of updates) {
      const key = `${u.channelId}\u0000${u.userId}`;
      const m = merged.get(key);
      if (m) {
        m.delivered = Math.max(m.delivered, u.deliveredSeq ?? 0);
        m.read = Math.max(m.read, u.readSeq ?? 0);
      } else {
        merged.set(key, { channelId: u.channelId, userId: u.userId, delivered: u.deliveredSeq ?? 0, read: u.readSeq ?? 0 });
      }
    }
    const list = [...merged.values()];
    const { rows } = await this.run<{ channel_id: string; user_id: string; delivered_seq: number; read_seq: number }>(Q.applyReceipts, [
      list.map((u) => u.channelId),
      list.map((u) => u.userId),
      list.map((u) => u.delivered),
      list.map((u) => u.read),
    ]);
    const changed = new Map(rows.map((r) => [`${r.channel_id}\u0000${r.user_id}`, r]));
    const changes: ReceiptChange[] = [];
    for (const [key, u] of merged) {
      const row = changed.get(key);
      if (row) changes.push({ channelId: u.channelId, userId: u.userId, deliveredSeq: row.delivered_seq, readSeq: row.read_seq });
    }
    return changes;
  }

  // --- push jobs ------------------------------------------------------------

  async claimPushJobs(now: number, limit: number, leaseUntil: number): Promise<PushJob[]> {
    const { rows } = await this.run<PushJobRow>(Q.claimJobs, [now, Math.max(1, Math.floor(limit)), leaseUntil]);
    return rows.map(toPushJob);
  }

  async settlePushJob(job: PushJob, settlement: PushSettlement): Promise<void> {
    await this.transaction(async (c) => {
      const row = (await c.query<{ message_count: number; last_seq: number }>(bind(Q.lockJob, [job.deviceId, job.channelId]))).rows[0];
      if (!row) return;
      // Messages (or a read) arrived while the job was out: keep it for them.
      const changed = row.last_seq !== job.lastSeq || row.message_count !== job.count;
      switch (settlement.kind) {
        case 'retry':
          await c.query(bind(Q.jobRequeue, [settlement.dueAt, job.attempts + 1, job.deviceId, job.channelId]));
          return;
        case 'notified':
          await c.query(bind(Q.jobNotified, [job.lastSeq, settlement.at, changed ? settlement.nextDueAt : null, job.deviceId, job.channelId]));
          return;
        case 'done':
          if (changed) await c.query(bind(Q.jobRequeue, [settlement.nextDueAt, 0, job.deviceId, job.channelId]));
          else await c.query(bind(Q.deleteJob, [job.deviceId, job.channelId]));
          return;
      }
    });
  }

  async clearPushJobs(acks: readonly DeliveredAck[]): Promise<void> {
    if (acks.length === 0) return;
    await this.run(Q.clearDelivered, [acks.map((a) => a.deviceId), acks.map((a) => a.channelId), acks.map((a) => a.seq)]);
  }

  async pushChannelsRead(reads: readonly { userId: string; channelId: string; readSeq: number }[], at: number): Promise<void> {
    if (reads.length === 0) return;
    const columns = [reads.map((r) => r.userId), reads.map((r) => r.channelId), reads.map((r) => r.readSeq)];
    await this.transaction(async (c) => {
      await c.query(bind(Q.readDropPending, columns));
      await c.query(bind(Q.readClearShown, [...columns, at]));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

async function insertSystemMessage(
  c: pg.PoolClient,
  channelId: string,
  seq: number,
  actorId: string,
  system: { text: string; event: SystemEvent },
  at: number,
): Promise<Message> {
  // No device sent it, and the client id only has to be unique in the channel.
  const clientId = `sys:${channelId}:${seq}`;
  await c.query(bind(Q.insertSystemMessage, [channelId, seq, actorId, clientId, system.text, JSON.stringify(system.event), at]));
  return { channelId, seq, senderId: actorId, clientId, kind: 'system', text: system.text, createdAt: at, system: system.event };
}
