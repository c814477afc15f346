import { createHash } from 'node:crypto';
import type pg from 'pg';

/*
 * Schema migrations for PostgresStore. Entry i brings the schema from version
 * i to version i + 1, recorded as a row in `schema_migrations`. Entries are
 * append-only: a released migration is never edited, a change is a new entry.
 *
 * The layout mirrors SqliteStore's, with the distribution in mind: every table
 * holding per-channel data (channels, members, messages) has keys that lead
 * with the channel id, so it can be distributed by channel id (Citus) with
 * co-located joins. Identifiers use the "C" collation: byte order, as in
 * SQLite, whatever the database locale, and the username index then serves
 * prefix search as a plain range scan. Times are bigint milliseconds.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    username      text COLLATE "C" NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    bigint NOT NULL,
    last_seen     bigint
  );

  CREATE TABLE devices (
    id             text COLLATE "C" PRIMARY KEY,
    user_id        text COLLATE "C" NOT NULL REFERENCES users(id),
    name           text NOT NULL,
    platform       text NOT NULL,
    token_hash     text COLLATE "C" NOT NULL UNIQUE,
    created_at     bigint NOT NULL,
    last_active_at bigint NOT NULL,
    revoked_at     bigint
  );
  CREATE INDEX devices_by_user ON devices (user_id);

  CREATE TABLE channels (
    id               text COLLATE "C" PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('direct', 'group')),
    name             text,
    -- The two user ids of a direct channel, sorted: makes getOrCreateDirect idempotent.
    direct_key       text COLLATE "C" UNIQUE,
    created_by       text COLLATE "C" NOT NULL,
    created_at       bigint NOT NULL,
    last_seq         bigint NOT NULL DEFAULT 0,
    member_count     integer NOT NULL,
    last_activity_at bigint NOT NULL
  );

  CREATE TABLE members (
    channel_id    text COLLATE "C" NOT NULL REFERENCES channels(id),
    user_id       text COLLATE "C" NOT NULL REFERENCES users(id),
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at     bigint NOT NULL,
    joined_seq    bigint NOT NULL,
    left_seq      bigint,
    delivered_seq bigint NOT NULL DEFAULT 0,
    read_seq      bigint NOT NULL DEFAULT 0,
    version       bigint NOT NULL,
    PRIMARY KEY (channel_id, user_id)
  );
  -- Sync reads one user's rows with version > cursor: a range scan of this index.
  CREATE INDEX members_by_user_version ON members (user_id, version);

  CREATE TABLE messages (
    channel_id       text COLLATE "C" NOT NULL REFERENCES channels(id),
    seq              bigint NOT NULL,
    sender_id        text COLLATE "C" NOT NULL,
    sender_device_id text COLLATE "C",
    client_id        text COLLATE "C" NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('text', 'system')),
    text             text NOT NULL,
    system           text,
    created_at       bigint NOT NULL,
    PRIMARY KEY (channel_id, seq),
    -- The idempotency key. Appends to a channel are serialized by its row lock,
    -- so a repeat finds the original first; this index is the backstop.
    CONSTRAINT messages_send_key UNIQUE (channel_id, sender_device_id, client_id)
  );

  -- One row, 'version': the store-wide sync counter (see PostgresStore).
  CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL
  );
  INSERT INTO meta (key, value) VALUES ('version', 0);
  `,
  `
  -- Push notifications: per-member mute, one registration per device, and
  -- the durable queue of pending pushes (one row per device and channel).
  ALTER TABLE members ADD COLUMN muted_until bigint;

  CREATE TABLE push_registrations (
    device_id  text COLLATE "C" PRIMARY KEY REFERENCES devices(id),
    user_id    text COLLATE "C" NOT NULL REFERENCES users(id),
    kind       text NOT NULL CHECK (kind IN ('webpush', 'apns', 'fcm')),
    target     text COLLATE "C" NOT NULL, -- Web Push endpoint, or APNs / FCM token
    p256dh     text,
    auth       text,
    created_at bigint NOT NULL
  );
  -- A push target belongs to one device; the join from members runs by user.
  CREATE UNIQUE INDEX push_registrations_by_target ON push_registrations (kind, target);
  CREATE INDEX push_registrations_by_user ON push_registrations (user_id);

  CREATE TABLE push_jobs (
    device_id      text COLLATE "C" NOT NULL,
    channel_id     text COLLATE "C" NOT NULL,
    user_id        text COLLATE "C" NOT NULL,
    message_count  integer NOT NULL,
    last_seq       bigint NOT NULL,
    notified_seq   bigint NOT NULL DEFAULT 0,
    due_at         bigint,
    attempts       integer NOT NULL DEFAULT 0,
    last_pushed_at bigint,
    created_at     bigint NOT NULL,
    PRIMARY KEY (device_id, channel_id)
  );
  -- The workers' scan: due jobs only (most rows wait for nothing).
  CREATE INDEX push_jobs_due ON push_jobs (due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX push_jobs_by_user ON push_jobs (user_id, channel_id);
  `,
  `
  -- Blocks between users: a direct channel between two users either of whom
  -- blocked the other takes no new messages.
  CREATE TABLE blocks (
    blocker_id text COLLATE "C" NOT NULL REFERENCES users(id),
    blocked_id text COLLATE "C" NOT NULL REFERENCES users(id),
    created_at bigint NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
  );
  -- "Who blocked me" (presence is not shown to them).
  CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);
  `,
  `
  -- Sync versions per channel: a message sets its channel's version instead
  -- of every member row's, and sync reads a current member's row as changed
  -- at the later of the two. 0 for existing channels: their member rows
  -- already carry every version their messages gave them. A constant default
  -- adds the column without rewriting the table.
  ALTER TABLE channels ADD COLUMN version bigint NOT NULL DEFAULT 0;
  `,
];

/** Schema names are plain lower-case identifiers, so they never need quoting anywhere. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** The advisory lock key of a schema's migrations: stable across processes and releases. */
function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`confab:migrations:${schema}`).digest().readBigInt64BE(0).toString();
}

async function inTransaction<R>(client: pg.ClientBase, fn: () => Promise<R>): Promise<R> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Creates `schema` if needed and applies the migrations it has not seen yet,
 * each in its own transaction together with its `schema_migrations` row, so a
 * crash between two migrations leaves a consistent, resumable schema. Every
 * transaction first takes a transaction-scoped advisory lock for the schema
 * and re-reads the version under it: when several nodes start at once, one
 * applies each migration and the others wait, then find it applied.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  if (!SCHEMA_NAME_PATTERN.test(schema)) throw new Error(`Invalid schema name ${JSON.stringify(schema)}.`);
  const lockKey = migrationLockKey(schema);
  for (;;) {
    const finished = await inTransaction(client, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey]);
      // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when the
      // schema exists, so only an actually missing schema is created.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET LOCAL search_path TO ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT coalesce(max(version), 0)::integer AS version FROM schema_migrations',
      );
      const current = rows[0]!.version;
      if (current > MIGRATIONS.length) {
        throw new Error(
          `Database schema version ${current} is newer than this server understands (${MIGRATIONS.length}); upgrade the server.`,
        );
      }
      if (current === MIGRATIONS.length) return true;
      await client.query(MIGRATIONS[current]!);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [current + 1]);
      return current + 1 === MIGRATIONS.length;
    });
    if (finished) return;
  }
}
