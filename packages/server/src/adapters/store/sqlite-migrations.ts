import type { SqliteDatabase } from './sqlite-driver.js';

/*
 * Schema migrations for SqliteStore. Entry i brings the database from
 * `user_version = i` to `user_version = i + 1`. Entries are append-only: a
 * released migration is never edited, a change is a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE, -- the unique index also serves prefix search (range scan)
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen     INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    platform       TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    revoked_at     INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX devices_by_user ON devices(user_id);

  CREATE TABLE channels (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    name             TEXT,
    -- The two user ids of a direct channel, sorted: makes getOrCreateDirect idempotent.
    direct_key       TEXT UNIQUE,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    member_count     INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Clustered by channel: a send bumps every member row of its channel, which
  -- is then one contiguous range of the primary key.
  CREATE TABLE members (
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at     INTEGER NOT NULL,
    joined_seq    INTEGER NOT NULL,
    left_seq      INTEGER,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    read_seq      INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
  ) WITHOUT ROWID;
  -- Sync reads one user's rows with version > cursor: a range scan of this index.
  CREATE INDEX members_by_user_version ON members(user_id, version);

  -- A rowid table on purpose: texts reach hundreds of KB, which a WITHOUT ROWID
  -- table would store inside its B-tree pages. Keys lead with channel_id so the
  -- table can be distributed by channel elsewhere.
  CREATE TABLE messages (
    channel_id       TEXT NOT NULL REFERENCES channels(id),
    seq              INTEGER NOT NULL,
    sender_id        TEXT NOT NULL,
    sender_device_id TEXT,
    client_id        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'system')),
    text             TEXT NOT NULL,
    system           TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (channel_id, seq),
    UNIQUE (channel_id, sender_device_id, client_id)
  );

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('version', 0);
  `,
  `
  -- Push notifications: per-member mute, one registration per device, and
  -- the durable queue of pending pushes (one row per device and channel).
  ALTER TABLE members ADD COLUMN muted_until INTEGER;

  CREATE TABLE push_registrations (
    device_id  TEXT PRIMARY KEY REFERENCES devices(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL CHECK (kind IN ('webpush', 'apns', 'fcm')),
    target     TEXT NOT NULL, -- Web Push endpoint, or APNs / FCM token
    p256dh     TEXT,
    auth       TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- A push target belongs to one device; the join from members runs by user.
  CREATE UNIQUE INDEX push_registrations_by_target ON push_registrations(kind, target);
  CREATE INDEX push_registrations_by_user ON push_registrations(user_id);

  CREATE TABLE push_jobs (
    device_id      TEXT NOT NULL,
    channel_id     TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    message_count  INTEGER NOT NULL,
    last_seq       INTEGER NOT NULL,
    notified_seq   INTEGER NOT NULL DEFAULT 0,
    due_at         INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_pushed_at INTEGER,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (device_id, channel_id)
  ) WITHOUT ROWID;
  -- The worker's scan: due jobs only (most rows wait for nothing).
  CREATE INDEX push_jobs_due ON push_jobs(due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX push_jobs_by_user ON push_jobs(user_id, channel_id);
  `,
  `
  -- Blocks between users: a direct channel between two users either of whom
  -- blocked the other takes no new messages.
  CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users(id),
    blocked_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
  ) WITHOUT ROWID;
  -- "Who blocked me" (presence is not shown to them).
  CREATE INDEX blocks_by_blocked ON blocks(blocked_id, blocker_id);
  `,
  `
  -- Sync versions per channel: a message sets its channel's version instead
  -- of every member row's, and sync reads a current member's row as changed
  -- at the later of the two. 0 for existing channels: their member rows
  -- already carry every version their messages gave them.
  ALTER TABLE channels ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  `,
];

/**
 * Applies the migrations the database has not seen yet, each in its own
 * transaction together with its `user_version` bump, so a crash between two
 * migrations leaves a consistent, resumable database. Safe to call repeatedly,
 * and from two processes opening the same file at once: the version is re-read
 * under the write lock, so a migration another process just applied is skipped.
 */
export function migrate(db: SqliteDatabase): void {
  const version = (): number => db.pragma('user_version') as number;
  const current = version();
  if (current > MIGRATIONS.length) {
    throw new Error(
      `Database schema version ${current} is newer than this server understands (${MIGRATIONS.length}); upgrade the server.`,
    );
  }
  for (let i = current; i < MIGRATIONS.length; i++) {
    const sql = MIGRATIONS[i]!;
    db.transaction('immediate', () => {
      if (version() > i) return;
      db.exec(sql);
      // user_version lives in the database header and commits with the transaction.
      db.pragma(`user_version = ${i + 1}`);
    });
  }
}
