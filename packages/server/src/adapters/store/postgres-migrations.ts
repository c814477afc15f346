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
  `
  -- Sync versions become the ids of the transactions that wrote them
  -- (pg_current_xact_id), and the store-wide counter row goes: it was taken
  -- by every versioned write and held until its commit, so it serialized
  -- the commits of every node. Transaction ids need no lock, but they are
  -- handed out when a transaction starts writing, not when it commits, so
  -- sync reads them against its snapshot's horizon (see PostgresStore.sync).
  -- The versions written so far were counter values, which would compare
  -- wrongly with transaction ids: they go back to 0, and a cursor issued
  -- before this migration (a plain number) means "from the beginning", so
  -- each device re-reads its list once. (This rewrites every member row.)
  UPDATE members SET version = 0 WHERE version <> 0;
  UPDATE channels SET version = 0 WHERE version <> 0;
  DROP TABLE meta;

  -- A batch of sends, committed in one round trip. Run as a statement of its
  -- own, the call is its transaction: the channel row locks are held for
  -- the time the database works on the batch and commits, not across the
  -- client round trips between its statements (a node's event loop, busy
  -- with sockets, took milliseconds to send the next one while every other
  -- node waited on those locks).
  --
  -- Requests are parallel arrays, one element per send. It returns one row
  -- per request (i = its position from 1; code NULL: stored now with seq;
  -- 'duplicate': stored before, with that seq, created_at and sender in
  -- user_id; else the refusal), then the current members of each channel
  -- that grew (i NULL): the live fan-out. Each statement inside takes a new
  -- snapshot (READ COMMITTED), so what is read after the locks sees every
  -- commit that held them before.
  CREATE FUNCTION confab_append(
    p_channel text[], p_device text[], p_client text[], p_sender text[], p_text text[],
    p_at bigint, p_push boolean, p_due_at bigint, p_min_interval bigint)
  RETURNS TABLE (i integer, code text, seq bigint, created_at bigint, channel_id text, user_id text)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE
    n integer := coalesce(cardinality(p_channel), 0);
    tx_version bigint := pg_current_xact_id()::text::bigint;
    ch_ids text[];
    ch_seq bigint[];
    ch_grew boolean[];
    l_seq bigint[];
    l_at bigint[];
    l_sender text[];
    l_same boolean[];
    l_member boolean[];
    l_left bigint[];
    l_blocked boolean[];
    l_first integer[];
    r_code text[] := array_fill(NULL::text, ARRAY[n]);
    r_seq bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_at bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_user text[] := array_fill(NULL::text, ARRAY[n]);
    f_channel text[] := '{}';
    f_seq bigint[] := '{}';
    f_sender text[] := '{}';
    f_device text[] := '{}';
    f_client text[] := '{}';
    f_text text[] := '{}';
    grown text[] := '{}';
    grown_seq bigint[] := '{}';
    k integer;
    j integer;
    pos integer;
  BEGIN
    IF n = 0 THEN RETURN; END IF;
    -- Lock order 1: every channel of the batch, by id.
    SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}'), coalesce(array_agg(c.last_seq ORDER BY c.id), '{}')
      INTO ch_ids, ch_seq
      FROM (SELECT id, last_seq FROM channels WHERE id = ANY(p_channel) ORDER BY id FOR UPDATE) c;
    ch_grew := array_fill(false, ARRAY[cardinality(ch_ids)]);

    -- Per request: the message already stored under its send key (and
    -- whether its text is the same), the sender's membership, whether the
    -- channel is a direct one with a block between its two users, and the
    -- first request of the batch with the same send key.
    SELECT array_agg(g.seq ORDER BY req.i), array_agg(g.created_at ORDER BY req.i), array_agg(g.sender_id ORDER BY req.i),
           array_agg(g.text = req.body ORDER BY req.i),
           array_agg(mb.user_id IS NOT NULL ORDER BY req.i), array_agg(mb.left_seq ORDER BY req.i),
           array_agg(EXISTS (
             SELECT 1 FROM channels ch
             JOIN members p ON p.channel_id = ch.id
             JOIN members q ON q.channel_id = ch.id AND q.user_id <> p.user_id
             JOIN blocks b ON b.blocker_id = p.user_id AND b.blocked_id = q.user_id
             WHERE ch.id = req.channel_id AND ch.kind = 'direct'
           ) ORDER BY req.i),
           array_agg(req.first::integer ORDER BY req.i)
      INTO l_seq, l_at, l_sender, l_same, l_member, l_left, l_blocked, l_first
      FROM (SELECT u.*, min(u.i) OVER (PARTITION BY u.channel_id, u.device_id, u.client_id) AS first
            FROM unnest(p_channel, p_device, p_client, p_sender, p_text) WITH ORDINALITY AS u(channel_id, device_id, client_id, sender_id, body, i)) req
      LEFT JOIN messages g ON g.channel_id = req.channel_id AND g.sender_device_id = req.device_id AND g.client_id = req.client_id
      LEFT JOIN members mb ON mb.channel_id = req.channel_id AND mb.user_id = req.sender_id;

    FOR k IN 1 .. n LOOP
      pos := array_position(ch_ids, p_channel[k]);
      IF pos IS NULL THEN
        r_code[k] := 'channel_not_found';
        CONTINUE;
      END IF;
      -- The send key is checked before membership: a retry of a send that
      -- committed before its sender was removed still gets its original ack.
      j := l_first[k];
      IF j < k AND r_code[j] IS NULL AND r_seq[j] IS NOT NULL THEN
        -- Repeated within the batch, after a first use stored now.
        IF p_text[j] = p_text[k] THEN
          r_code[k] := 'duplicate'; r_seq[k] := r_seq[j]; r_at[k] := p_at; r_user[k] := p_sender[j];
        ELSE
          r_code[k] := 'idempotency_conflict';
        END IF;
        CONTINUE;
      END IF;
      IF l_seq[k] IS NOT NULL THEN
        IF l_same[k] THEN
          r_code[k] := 'duplicate'; r_seq[k] := l_seq[k]; r_at[k] := l_at[k]; r_user[k] := l_sender[k];
        ELSE
          r_code[k] := 'idempotency_conflict';
        END IF;
        CONTINUE;
      END IF;
      IF NOT l_member[k] OR l_left[k] IS NOT NULL THEN
        r_code[k] := 'not_member';
        CONTINUE;
      END IF;
      IF l_blocked[k] THEN
        r_code[k] := 'blocked';
        CONTINUE;
      END IF;
      ch_seq[pos] := ch_seq[pos] + 1;
      ch_grew[pos] := true;
      r_seq[k] := ch_seq[pos];
      f_channel := f_channel || p_channel[k];
      f_seq := f_seq || ch_seq[pos];
      f_sender := f_sender || p_sender[k];
      f_device := f_device || p_device[k];
      f_client := f_client || p_client[k];
      f_text := f_text || p_text[k];
    END LOOP;

    RETURN QUERY SELECT s.idx, r_code[s.idx], r_seq[s.idx], r_at[s.idx], NULL::text, r_user[s.idx] FROM generate_series(1, n) AS s(idx);
    IF cardinality(f_seq) = 0 THEN RETURN; END IF;

    -- The new messages and the senders' watermarks (each sender has read
    -- what it sent).
    WITH inserted AS (
      INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, system, created_at)
      SELECT t.channel_id, t.seq, t.sender_id, t.device_id, t.client_id, 'text', t.body, NULL, p_at
      FROM unnest(f_channel, f_seq, f_sender, f_device, f_client, f_text) AS t(channel_id, seq, sender_id, device_id, client_id, body)
    )
    UPDATE members m SET read_seq = greatest(m.read_seq, w.seq), delivered_seq = greatest(m.delivered_seq, w.seq)
    FROM (SELECT t.channel_id, t.sender_id, max(t.seq) AS seq FROM unnest(f_channel, f_sender, f_seq) AS t(channel_id, sender_id, seq) GROUP BY 1, 2) w
    WHERE m.channel_id = w.channel_id AND m.user_id = w.sender_id;

    -- Push jobs: one row per registered device of every other current,
    -- unmuted member, counting the messages from others; a row that exists
    -- adds them. A pending due time stays (that is the coalescing); a new one
    -- waits out the minimum interval since the last push. Rows are written
    -- in key order, the order every push_jobs batch locks in.
    IF p_push THEN
      INSERT INTO push_jobs (device_id, channel_id, user_id, message_count, last_seq, due_at, created_at)
      SELECT r.device_id, f.channel_id, m.user_id, count(*), max(f.seq), p_due_at, p_at
      FROM unnest(f_channel, f_seq, f_sender) AS f(channel_id, seq, sender_id)
      JOIN members m ON m.channel_id = f.channel_id AND m.left_seq IS NULL AND m.user_id <> f.sender_id
        AND (m.muted_until IS NULL OR m.muted_until <= p_at)
      JOIN push_registrations r ON r.user_id = m.user_id
      GROUP BY r.device_id, f.channel_id, m.user_id
      ORDER BY r.device_id, f.channel_id
      ON CONFLICT (device_id, channel_id) DO UPDATE SET
        message_count = push_jobs.message_count + excluded.message_count,
        last_seq = greatest(push_jobs.last_seq, excluded.last_seq),
        due_at = coalesce(push_jobs.due_at, greatest(excluded.due_at, coalesce(push_jobs.last_pushed_at, 0) + p_min_interval));
    END IF;

    FOR pos IN 1 .. cardinality(ch_ids) LOOP
      IF ch_grew[pos] THEN
        grown := grown || ch_ids[pos];
        grown_seq := grown_seq || ch_seq[pos];
      END IF;
    END LOOP;
    -- The channels' new heads and this transaction's sync version.
    RETURN QUERY WITH bumped AS (
        UPDATE channels c SET last_seq = b.last_seq, last_activity_at = p_at, version = tx_version
        FROM unnest(grown, grown_seq) AS b(channel_id, last_seq)
        WHERE c.id = b.channel_id
      )
      SELECT NULL::integer, NULL::text, NULL::bigint, NULL::bigint, m.channel_id::text, m.user_id::text
      FROM members m WHERE m.channel_id = ANY(grown) AND m.left_seq IS NULL;
  END
  $fn$;
  `,
  `
  -- confab_append, second version: the same function, with three changes to
  -- how PostgreSQL plans it.
  -- * The send-key, membership and block lookup is one index lookup per
  --   request. PostgreSQL planned the joined form at every call (its custom
  --   plans looked cheaper than a generic one), and planning the four-way
  --   join with its EXISTS took several times the lookup's own work.
  -- * Sequential scans are off inside the function. Every table access in it
  --   is by key, but a plan made while a table was small (a new cluster, or
  --   statistics gathered before the messages came) scans it whole, and the
  --   cached plan kept scanning as the table grew: each send-key lookup read
  --   every message until autovacuum analyzed again.
  -- * Its statements run on generic plans. With every access by key their
  --   plans do not depend on the batch, and planning them afresh at every
  --   call (custom plans) was most of what a commit of one message cost.
  CREATE OR REPLACE FUNCTION confab_append(
    p_channel text[], p_device text[], p_client text[], p_sender text[], p_text text[],
    p_at bigint, p_push boolean, p_due_at bigint, p_min_interval bigint)
  RETURNS TABLE (i integer, code text, seq bigint, created_at bigint, channel_id text, user_id text)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE
    n integer := coalesce(cardinality(p_channel), 0);
    tx_version bigint := pg_current_xact_id()::text::bigint;
    ch_ids text[];
    ch_seq bigint[];
    ch_grew boolean[];
    l_seq bigint[];
    l_at bigint[];
    l_sender text[];
    l_same boolean[];
    l_member boolean[];
    l_left bigint[];
    l_blocked boolean[];
    l_first integer[];
    r_code text[] := array_fill(NULL::text, ARRAY[n]);
    r_seq bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_at bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_user text[] := array_fill(NULL::text, ARRAY[n]);
    f_channel text[] := '{}';
    f_seq bigint[] := '{}';
    f_sender text[] := '{}';
    f_device text[] := '{}';
    f_client text[] := '{}';
    f_text text[] := '{}';
    grown text[] := '{}';
    grown_seq bigint[] := '{}';
    k integer;
    j integer;
    pos integer;
  BEGIN
    IF n = 0 THEN RETURN; END IF;
    -- Lock order 1: every channel of the batch, by id.
    SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}'), coalesce(array_agg(c.last_seq ORDER BY c.id), '{}')
      INTO ch_ids, ch_seq
      FROM (SELECT id, last_seq FROM channels WHERE id = ANY(p_channel) ORDER BY id FOR UPDATE) c;
    ch_grew := array_fill(false, ARRAY[cardinality(ch_ids)]);

    -- Per request: the message already stored under its send key (and
    -- whether its text is the same), the sender's membership, whether the
    -- channel is a direct one with a block between its two users, and the
    -- first request of the batch with the same send key.
    SELECT array_agg(g.seq ORDER BY req.i), array_agg(g.created_at ORDER BY req.i), array_agg(g.sender_id ORDER BY req.i),
           array_agg(g.text = req.body ORDER BY req.i),
           array_agg(mb.user_id IS NOT NULL ORDER BY req.i), array_agg(mb.left_seq ORDER BY req.i),
           array_agg(coalesce(blk.blocked, false) ORDER BY req.i),
           array_agg(req.first::integer ORDER BY req.i)
      INTO l_seq, l_at, l_sender, l_same, l_member, l_left, l_blocked, l_first
      FROM (SELECT u.*, min(u.i) OVER (PARTITION BY u.channel_id, u.device_id, u.client_id) AS first
            FROM unnest(p_channel, p_device, p_client, p_sender, p_text) WITH ORDINALITY AS u(channel_id, device_id, client_id, sender_id, body, i)) req
      -- One index lookup per request; OFFSET 0 keeps each a subquery of its
      -- own, so the planner has no join order to search.
      LEFT JOIN LATERAL (
        SELECT g.seq, g.created_at, g.sender_id, g.text FROM messages g
        WHERE g.channel_id = req.channel_id AND g.sender_device_id = req.device_id AND g.client_id = req.client_id OFFSET 0
      ) g ON true
      LEFT JOIN LATERAL (
        SELECT mb.user_id, mb.left_seq FROM members mb WHERE mb.channel_id = req.channel_id AND mb.user_id = req.sender_id OFFSET 0
      ) mb ON true
      -- Blocks matter in direct channels only: their two member rows are
      -- read only once the channel is known to be one.
      LEFT JOIN LATERAL (
        SELECT EXISTS (
          SELECT 1 FROM members p
          JOIN members q ON q.channel_id = p.channel_id AND q.user_id <> p.user_id
          JOIN blocks b ON b.blocker_id = p.user_id AND b.blocked_id = q.user_id
          WHERE p.channel_id = ch.id OFFSET 0
        ) AS blocked
        FROM channels ch WHERE ch.id = req.channel_id AND ch.kind = 'direct' OFFSET 0
      ) blk ON true;

    FOR k IN 1 .. n LOOP
      pos := array_position(ch_ids, p_channel[k]);
      IF pos IS NULL THEN
        r_code[k] := 'channel_not_found';
        CONTINUE;
      END IF;
      -- The send key is checked before membership: a retry of a send that
      -- committed before its sender was removed still gets its original ack.
      j := l_first[k];
      IF j < k AND r_code[j] IS NULL AND r_seq[j] IS NOT NULL THEN
        -- Repeated within the batch, after a first use stored now.
        IF p_text[j] = p_text[k] THEN
          r_code[k] := 'duplicate'; r_seq[k] := r_seq[j]; r_at[k] := p_at; r_user[k] := p_sender[j];
        ELSE
          r_code[k] := 'idempotency_conflict';
        END IF;
        CONTINUE;
      END IF;
      IF l_seq[k] IS NOT NULL THEN
        IF l_same[k] THEN
          r_code[k] := 'duplicate'; r_seq[k] := l_seq[k]; r_at[k] := l_at[k]; r_user[k] := l_sender[k];
        ELSE
          r_code[k] := 'idempotency_conflict';
        END IF;
        CONTINUE;
      END IF;
      IF NOT l_member[k] OR l_left[k] IS NOT NULL THEN
        r_code[k] := 'not_member';
        CONTINUE;
      END IF;
      IF l_blocked[k] THEN
        r_code[k] := 'blocked';
        CONTINUE;
      END IF;
      ch_seq[pos] := ch_seq[pos] + 1;
      ch_grew[pos] := true;
      r_seq[k] := ch_seq[pos];
      f_channel := f_channel || p_channel[k];
      f_seq := f_seq || ch_seq[pos];
      f_sender := f_sender || p_sender[k];
      f_device := f_device || p_device[k];
      f_client := f_client || p_client[k];
      f_text := f_text || p_text[k];
    END LOOP;

    RETURN QUERY SELECT s.idx, r_code[s.idx], r_seq[s.idx], r_at[s.idx], NULL::text, r_user[s.idx] FROM generate_series(1, n) AS s(idx);
    IF cardinality(f_seq) = 0 THEN RETURN; END IF;

    -- The new messages and the senders' watermarks (each sender has read
    -- what it sent).
    WITH inserted AS (
      INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, system, created_at)
      SELECT t.channel_id, t.seq, t.sender_id, t.device_id, t.client_id, 'text', t.body, NULL, p_at
      FROM unnest(f_channel, f_seq, f_sender, f_device, f_client, f_text) AS t(channel_id, seq, sender_id, device_id, client_id, body)
    )
    UPDATE members m SET read_seq = greatest(m.read_seq, w.seq), delivered_seq = greatest(m.delivered_seq, w.seq)
    FROM (SELECT t.channel_id, t.sender_id, max(t.seq) AS seq FROM unnest(f_channel, f_sender, f_seq) AS t(channel_id, sender_id, seq) GROUP BY 1, 2) w
    WHERE m.channel_id = w.channel_id AND m.user_id = w.sender_id;

    -- Push jobs: one row per registered device of every other current,
    -- unmuted member, counting the messages from others; a row that exists
    -- adds them. A pending due time stays (that is the coalescing); a new one
    -- waits out the minimum interval since the last push. Rows are written
    -- in key order, the order every push_jobs batch locks in.
    IF p_push THEN
      INSERT INTO push_jobs (device_id, channel_id, user_id, message_count, last_seq, due_at, created_at)
      SELECT r.device_id, f.channel_id, m.user_id, count(*), max(f.seq), p_due_at, p_at
      FROM unnest(f_channel, f_seq, f_sender) AS f(channel_id, seq, sender_id)
      JOIN members m ON m.channel_id = f.channel_id AND m.left_seq IS NULL AND m.user_id <> f.sender_id
        AND (m.muted_until IS NULL OR m.muted_until <= p_at)
      JOIN push_registrations r ON r.user_id = m.user_id
      GROUP BY r.device_id, f.channel_id, m.user_id
      ORDER BY r.device_id, f.channel_id
      ON CONFLICT (device_id, channel_id) DO UPDATE SET
        message_count = push_jobs.message_count + excluded.message_count,
        last_seq = greatest(push_jobs.last_seq, excluded.last_seq),
        due_at = coalesce(push_jobs.due_at, greatest(excluded.due_at, coalesce(push_jobs.last_pushed_at, 0) + p_min_interval));
    END IF;

    FOR pos IN 1 .. cardinality(ch_ids) LOOP
      IF ch_grew[pos] THEN
        grown := grown || ch_ids[pos];
        grown_seq := grown_seq || ch_seq[pos];
      END IF;
    END LOOP;
    -- The channels' new heads and this transaction's sync version.
    RETURN QUERY WITH bumped AS (
        UPDATE channels c SET last_seq = b.last_seq, last_activity_at = p_at, version = tx_version
        FROM unnest(grown, grown_seq) AS b(channel_id, last_seq)
        WHERE c.id = b.channel_id
      )
      SELECT NULL::integer, NULL::text, NULL::bigint, NULL::bigint, m.channel_id::text, m.user_id::text
      FROM members m WHERE m.channel_id = ANY(grown) AND m.left_seq IS NULL;
  END
  $fn$;
  ALTER FUNCTION confab_append(text[], text[], text[], text[], text[], bigint, boolean, bigint, bigint) SET enable_seqscan = off;
  ALTER FUNCTION confab_append(text[], text[], text[], text[], text[], bigint, boolean, bigint, bigint) SET plan_cache_mode = force_generic_plan;
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
