import type { SyncEntry } from '@confab/protocol';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../../../test/support/services.js';
import { AppError } from '../../errors.js';
import { describeStoreContract } from '../../store/store.contract.js';
import { ROWS_BEFORE_CHANNEL_VERSIONS } from '../../store/sync-upgrade.contract.js';
import type { AppendRequest, AppendResult, ChannelChange, Store } from '../../store/store.js';
import { MIGRATIONS } from './postgres-migrations.js';
import { PostgresStore, isUnavailableError, toStoreError } from './postgres-store.js';

/*
 * Every test works in a schema of its own, dropped afterwards, so tests never
 * see each other's data (and may run in parallel with other suites sharing
 * the server). Several PostgresStore instances on one schema, each with its
 * own pool, stand for several server nodes.
 */

const T0 = 1_764_000_000_000;

/** The migration that gave channels sync versions of their own: the schema before it is the upgrade fixture's. */
const CHANNEL_VERSIONS_MIGRATION = MIGRATIONS.findIndex((sql) => sql.includes('ALTER TABLE channels ADD COLUMN version'));

describe.runIf(postgresAvailable)('PostgresStore', () => {
  let admin: pg.Pool;
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
  });
  afterAll(async () => {
    await admin.end();
  });

  async function dropSchema(schema: string): Promise<void> {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }

  describeStoreContract('PostgresStore', async () => {
    const schema = uniqueName('confab_test');
    const store = await PostgresStore.open({ url: POSTGRES_URL, schema, poolSize: 4 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  });

  // --- fixtures for the multi-node tests ---------------------------------------

  const schemas: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const schema of schemas.splice(0)) await dropSchema(schema);
  });

  function newSchema(): string {
    const schema = uniqueName('confab_test');
    schemas.push(schema);
    return schema;
  }

  async function openNode(schema: string, url = POSTGRES_URL, poolSize = 4): Promise<PostgresStore> {
    const store = await PostgresStore.open({ url, schema, poolSize });
    stores.push(store);
    return store;
  }

  /** `count` nodes on one schema, opened at the same time. */
  function openNodes(schema: string, count: number): Promise<PostgresStore[]> {
    return Promise.all(Array.from({ length: count }, () => openNode(schema)));
  }

  async function createUsers(store: Store, ...names: string[]): Promise<string[]> {
    for (const name of names) {
      await store.createUser({ id: `u_${name}`, username: name, displayName: name, passwordHash: 'h', createdAt: T0, lastSeen: null });
    }
    return names.map((n) => `u_${n}`);
  }

  async function createGroup(store: Store, id: string, ownerId: string, memberIds: string[]): Promise<void> {
    await store.createGroup({
      id,
      name: id,
      ownerId,
      memberIds,
      createdAt: T0,
      system: { text: 'created', event: { event: 'created', actorId: ownerId } },
    });
  }

  function req(channelId: string, senderId: string, clientId: string, text = `text ${clientId}`): AppendRequest {
    return { channelId, senderId, senderDeviceId: `d_${senderId}`, clientId, text };
  }

  function range(from: number, to: number): number[] {
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }

  function accepted(result: AppendResult | undefined): Extract<AppendResult, { ok: true }> {
    if (!result?.ok) throw new Error(`append refused: ${JSON.stringify(result)}`);
    return result;
  }

  /** Every seq of the channel's history, in order. */
  async function historySeqs(store: Store, channelId: string): Promise<number[]> {
    return (await store.getMessages(channelId, { after: 0, limit: 10_000 })).messages.map((m) => m.seq);
  }

  /** A small deterministic generator, so a failing run can be replayed. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      return state / 2 ** 32;
    };
  }

  // --- several nodes -----------------------------------------------------------

  describe('across nodes', () => {
    it('assigns gap-free seqs without duplicates when several nodes append to the same channels at once', async () => {
      const nodes = await openNodes(newSchema(), 4);
      const [a, b, c] = await createUsers(nodes[0]!, 'alice', 'bob', 'carol');
      await createGroup(nodes[0]!, 'c_a', a!, [b!, c!]);
      await createGroup(nodes[1]!, 'c_b', b!, [a!, c!]);

      const rounds = 15;
      const senders = [a!, b!, c!];
      const batches = await Promise.all(
        nodes.flatMap((node, n) =>
          range(1, rounds).map((i) => {
            // Batches name both channels, in either order, so the lock order is exercised too.
            const [first, second] = (n + i) % 2 ? ['c_a', 'c_b'] : ['c_b', 'c_a'];
            const sender = senders[(n + i) % 3]!;
            return node.appendMessages(
              [req(first!, sender, `n${n}-r${i}-1`), req(second!, sender, `n${n}-r${i}-2`), req(first!, sender, `n${n}-r${i}-3`)],
              T0 + i,
            );
          }),
        ),
      );

      const results = batches.flatMap((batch) => batch.results.map(accepted));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      // Each batch sends two messages to its first channel and one to the second; the firsts alternate.
      expect(results).toHaveLength(3 * nodes.length * rounds);
      const perChannel = { c_a: (3 * nodes.length * rounds) / 2, c_b: (3 * nodes.length * rounds) / 2 };
      for (const [channelId, count] of Object.entries(perChannel)) {
        const assigned = results.filter((r) => r.message.channelId === channelId).map((r) => r.message.seq);
        expect([...assigned].sort((x, y) => x - y)).toEqual(range(2, count + 1));
        // Every node sees the same history: the created event and each accepted message once, in seq order.
        for (const node of nodes) {
          const history = (await node.getMessages(channelId, { after: 0, limit: 1000 })).messages;
          expect(history.map((m) => m.seq)).toEqual(range(1, count + 1));
          expect(new Set(history.map((m) => m.clientId)).size).toBe(count + 1);
          expect((await node.getChannel(channelId))?.lastSeq).toBe(count + 1);
        }
        const bySeq = new Map(results.filter((r) => r.message.channelId === channelId).map((r) => [r.message.seq, r.message]));
        for (const m of (await nodes[0]!.getMessages(channelId, { after: 1, limit: 1000 })).messages) {
          expect(m).toStrictEqual(bySeq.get(m.seq));
        }
      }
      // Within a batch, a channel's messages stay in request order.
      for (const batch of batches) {
        const [r1, , r3] = batch.results.map(accepted);
        expect(r3!.message.seq).toBeGreaterThan(r1!.message.seq);
      }
    });

    it('answers concurrent retries of one send from two nodes with one message', async () => {
      const [nodeA, nodeB] = await openNodes(newSchema(), 2);
      const [a, b] = await createUsers(nodeA!, 'alice', 'bob');
      await createGroup(nodeA!, 'c_g', a!, [b!]);

      const keys = range(1, 20).map((i) => `k${i}`);
      const same = await Promise.all(
        keys.map((k) => Promise.all([nodeA!.appendMessages([req('c_g', a!, k)], T0), nodeB!.appendMessages([req('c_g', a!, k)], T0)])),
      );
      for (const pair of same) {
        const [first, second] = pair.map((batch) => accepted(batch.results[0]));
        expect([first!.duplicate, second!.duplicate].sort()).toEqual([false, true]);
        expect(first!.message).toStrictEqual(second!.message);
        // Only the node whose send committed has anyone to tell.
        expect(pair.map((batch) => batch.recipients.size).sort()).toEqual([0, 1]);
      }

      // The same key with different texts: one wins, the other is a conflict.
      const conflicting = await Promise.all(
        keys.map((k) =>
          Promise.all([
            nodeA!.appendMessages([req('c_g', b!, k, 'from A')], T0),
            nodeB!.appendMessages([req('c_g', b!, k, 'from B')], T0),
          ]),
        ),
      );
      for (const pair of conflicting) {
        const outcomes = pair.map((batch) => batch.results[0]!);
        expect(outcomes.map((r) => (r.ok ? (r.duplicate ? 'duplicate' : 'new') : r.code)).sort()).toEqual([
          'idempotency_conflict',
          'new',
        ]);
      }

      expect(await historySeqs(nodeB!, 'c_g')).toEqual(range(1, 1 + 2 * keys.length));
      const history = (await nodeA!.getMessages('c_g', { after: 1, limit: 1000 })).messages;
      expect(new Set(history.map((m) => `${m.senderId}/${m.clientId}`)).size).toBe(2 * keys.length);
    });

    it('runs receipts, appends and membership changes from several nodes at once without a deadlock', async () => {
      const schema = newSchema();
      const nodes = await openNodes(schema, 4);
      const users = await createUsers(nodes[0]!, 'alice', 'bob', 'carol', 'dave', 'erin', 'frank');
      const channels = ['c_a', 'c_b', 'c_c'];
      for (const id of channels) await createGroup(nodes[0]!, id, users[0]!, users.slice(1));
      const deadlocks = async (): Promise<number> =>
        Number((await admin.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
      const before = await deadlocks();

      // Seqs known to be committed, which is all a device can report.
      const head = new Map(channels.map((c) => [c, 1]));
      const reported = new Map<string, { delivered: number; read: number }>();
      const next = random(7);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
      const rounds = 40;
      let sent = 0;

      const appender = async (node: Store, n: number): Promise<void> => {
        for (let i = 0; i < rounds; i++) {
          // Several senders over every channel, in a shuffled order: the member rows they write cross.
          // (Not frank, who is not always a member of c_a.)
          const batch = range(1, 6).map((k) => req(pick(channels), pick(users.slice(0, -1)), `n${n}-r${i}-${k}`));
          const { results } = await node.appendMessages(batch, T0 + i);
          for (const r of results.map(accepted)) head.set(r.message.channelId, Math.max(head.get(r.message.channelId)!, r.message.seq));
          sent += batch.length;
        }
      };
      const reporter = async (node: Store): Promise<void> => {
        for (let i = 0; i < rounds; i++) {
          // Every row of every channel, in a shuffled order.
          const rows = channels.flatMap((channelId) => users.map((userId) => ({ channelId, userId })));
          rows.sort(() => next() - 0.5);
          const updates = rows.map(({ channelId, userId }) => {
            const seq = Math.max(1, Math.floor(next() * head.get(channelId)!));
            return next() < 0.5 ? { channelId, userId, deliveredSeq: seq } : { channelId, userId, readSeq: seq };
          });
          await node.updateReceipts(updates);
          for (const u of updates) {
            const key = `${u.channelId}/${u.userId}`;
            const r = reported.get(key) ?? { delivered: 0, read: 0 };
            reported.set(key, { delivered: Math.max(r.delivered, u.deliveredSeq ?? 0, u.readSeq ?? 0), read: Math.max(r.read, u.readSeq ?? 0) });
          }
        }
      };
      // Frank leaves c_a and comes back, again and again; c_b is renamed: changes that write every member row.
      const owner = users[0]!;
      const frank: ChannelChange[] = [
        { remove: ['u_frank'], system: { actorId: owner, text: 'removed', event: { event: 'member_removed', actorId: owner, userIds: ['u_frank'] } } },
        { add: [{ userId: 'u_frank', role: 'member' }], system: { actorId: owner, text: 'added', event: { event: 'member_added', actorId: owner, userIds: ['u_frank'] } } },
      ];
      const rename = (name: string): ChannelChange => ({ rename: name, system: { actorId: owner, text: 'renamed', event: { event: 'renamed', actorId: owner, name } } });
      const changer = async (node: Store): Promise<void> => {
        for (let i = 0; i < rounds / 2; i++) {
          for (const [channelId, change] of [['c_a', frank[i % 2]!], ['c_b', rename(`b${i}`)]] as const) {
            const result = await node.changeChannel(channelId, () => change, T0 + i);
            head.set(channelId, Math.max(head.get(channelId)!, result!.message.seq));
          }
        }
      };
      await Promise.all([appender(nodes[0]!, 0), appender(nodes[1]!, 1), reporter(nodes[2]!), reporter(nodes[1]!), changer(nodes[3]!), reporter(nodes[3]!)]);
      expect(sent).toBe(2 * rounds * 6);

      // Watermarks: read never past delivered, nothing past what the member can read, and every report applied.
      for (const channelId of channels) {
        const last = (await nodes[0]!.getChannel(channelId))!.lastSeq;
        for (const userId of users) {
          const m = (await nodes[0]!.getMember(channelId, userId))!;
          expect(m.readSeq).toBeLessThanOrEqual(m.deliveredSeq);
          expect(m.deliveredSeq).toBeLessThanOrEqual(m.leftSeq ?? last);
          if (channelId === 'c_a' && userId === 'u_frank') continue; // reports past a removal were clamped
          const r = reported.get(`${channelId}/${userId}`) ?? { delivered: 0, read: 0 };
          expect(m.deliveredSeq).toBeGreaterThanOrEqual(r.delivered);
          expect(m.readSeq).toBeGreaterThanOrEqual(r.read);
        }
      }

      // A deadlock is retried, so it would not fail an operation: count them
      // instead. A backend's counters reach the statistics when it exits.
      for (const store of stores.splice(0)) await store.close();
      let after = await deadlocks();
      for (let i = 0; i < 20 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = await deadlocks();
      }
      expect(after - before).toBe(0);
    });

    it('keeps sync versions in commit order: a reader polling during concurrent writes never skips a change', async () => {
      const nodes = await openNodes(newSchema(), 4);
      const [a, b] = await createUsers(nodes[0]!, 'alice', 'bob');
      const channels = range(1, 12).map((i) => `c_${i}`);
      for (const id of channels) await createGroup(nodes[0]!, id, a!, [b!]);

      let cursor = (await nodes[3]!.sync(b!, null, 10)).cursor;
      const seen = new Map<string, SyncEntry>();
      const record = (entries: SyncEntry[]): void => {
        for (const e of entries) {
          const before = seen.get(e.channelId);
          // A channel's state only moves forward from one sighting to the next.
          if (before) {
            expect(e.lastSeq).toBeGreaterThanOrEqual(before.lastSeq);
            expect(e.readSeq).toBeGreaterThanOrEqual(before.readSeq);
          }
          seen.set(e.channelId, e);
        }
      };

      let writing = true;
      const writers = nodes.map(async (node, n) => {
        const next = random(n + 1);
        const pick = (): string => channels[Math.floor(next() * channels.length)]!;
        for (let i = 0; i < 30; i++) {
          if (n === 3 && i % 2 === 1) {
            // bob reads on his devices: his own rows change too.
            const targets = [pick(), pick()];
            await node.updateReceipts(targets.map((channelId) => ({ channelId, userId: b!, readSeq: 1_000_000 })));
          } else {
            const targets = [pick(), pick(), pick()];
            await node.appendMessages(
              targets.map((channelId, k) => req(channelId, a!, `n${n}-${i}-${k}`)),
              T0 + i,
            );
          }
        }
      });
      const allWritten = Promise.all(writers).finally(() => {
        writing = false;
      });

      let polls = 0;
      while (writing) {
        const page = await nodes[polls % 4]!.sync(b!, cursor, 3);
        record(page.entries);
        cursor = page.cursor;
        polls++;
      }
      await allWritten;
      // Catch up with what committed after the last poll.
      for (;;) {
        const page = await nodes[0]!.sync(b!, cursor, 3);
        record(page.entries);
        cursor = page.cursor;
        if (!page.hasMore) break;
      }

      const final = await nodes[1]!.sync(b!, '0', 1000);
      expect(final.entries).toHaveLength(channels.length);
      for (const entry of final.entries) expect(seen.get(entry.channelId)).toEqual(entry);
      expect(polls).toBeGreaterThan(1);
    });

    it('syncs against the horizon: a change by a transaction that started earlier but commits later is not skipped, and nothing returned comes again unchanged', async () => {
      const schema = newSchema();
      const [node] = await openNodes(schema, 1);
      const [a, b] = await createUsers(node!, 'alice', 'bob');
      await createGroup(node!, 'c_1', a!, [b!]);
      await createGroup(node!, 'c_2', a!, [b!]);
      const start = (await node!.sync(b!, null, 10)).cursor;

      // A writer that takes its transaction id now and commits later: bob mutes c_1.
      const slow = await admin.connect();
      try {
        await slow.query('BEGIN');
        await slow.query(
          `UPDATE ${schema}.members SET muted_until = 123, version = pg_current_xact_id()::text::bigint WHERE channel_id = 'c_1' AND user_id = $1`,
          [b],
        );
        // A message to c_2 commits meanwhile, with a higher transaction id.
        await node!.appendMessages([req('c_2', a!, 'm1')], T0);
        const c2 = { channelId: 'c_2', lastSeq: 2, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null };
        const first = await node!.sync(b!, start, 10);
        expect(first).toMatchObject({ hasMore: false, entries: [c2] });
        // Returned once: the cursor names it while the horizon is below it.
        expect((await node!.sync(b!, first.cursor, 10)).entries).toEqual([]);
        // Changed again, it comes again.
        await node!.appendMessages([req('c_2', a!, 'm2')], T0);
        const second = await node!.sync(b!, first.cursor, 10);
        expect(second.entries).toEqual([{ ...c2, lastSeq: 3 }]);
        // A device starting "now" does not get c_2 reported as a change later.
        const fresh = await node!.sync(b!, null, 10);
        expect((await node!.sync(b!, fresh.cursor, 10)).entries).toEqual([]);

        await slow.query('COMMIT');
        // The older transaction's change, committed after the reader saw a newer one, is not skipped.
        const third = await node!.sync(b!, second.cursor, 10);
        expect(third.entries).toEqual([{ channelId: 'c_1', lastSeq: 1, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: 123 }]);
        expect((await node!.sync(b!, third.cursor, 10)).entries).toEqual([]);
        expect((await node!.sync(b!, fresh.cursor, 10)).entries).toEqual(third.entries);
      } finally {
        await slow.query('ROLLBACK').catch(() => undefined);
        slow.release();
      }
    });

    it('refuses sync cursors it did not issue, including positions beyond its horizon', async () => {
      const [node] = await openNodes(newSchema(), 1);
      const [a] = await createUsers(node!, 'alice');
      const { cursor } = await node!.sync(a!, null, 10);
      const [version] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [number];
      const forged = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const bad of [
        forged([version + 1_000_000, null, []]),
        forged([version, 7, []]),
        forged([version, null, [['c_1', -1, 0]]]),
        forged({ version }),
        'not+base64',
        'x'.repeat(2000),
      ]) {
        await expect(node!.sync(a!, bad, 10), bad).rejects.toMatchObject({ code: 'bad_request' });
      }
    });

    it('creates one direct channel when two nodes ask for the same pair at once', async () => {
      const [nodeA, nodeB] = await openNodes(newSchema(), 2);
      const [a, b] = await createUsers(nodeA!, 'alice', 'bob');
      const [x, y] = await Promise.all([nodeA!.getOrCreateDirect('c_x', a!, b!, T0), nodeB!.getOrCreateDirect('c_y', b!, a!, T0)]);
      expect([x!.created, y!.created].sort()).toEqual([false, true]);
      expect(x!.channel).toStrictEqual(y!.channel);
      expect(await nodeA!.listDirectPeers(a!)).toEqual([b]);
    });
  });

  // --- migrations and schemas --------------------------------------------------

  describe('migrations', () => {
    async function applied(schema: string): Promise<number[]> {
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      return rows.map((r) => r.version);
    }

    it('run once when several nodes open the same new schema at once', async () => {
      const schema = newSchema();
      const nodes = await openNodes(schema, 5);
      expect(await applied(schema)).toEqual(range(1, MIGRATIONS.length));
      // Sync versions are transaction ids: there is no counter row to serialize commits on.
      expect((await admin.query(`SELECT to_regclass('${schema}.meta') AS t`)).rows).toEqual([{ t: null }]);

      await createUsers(nodes[0]!, 'alice');
      expect(await nodes[4]!.getUserByUsername('alice')).not.toBeNull();
      // Reopening applies nothing and keeps the data.
      const again = await openNode(schema);
      expect(await applied(schema)).toEqual(range(1, MIGRATIONS.length));
      expect(await again.getUser('u_alice')).not.toBeNull();
    });

    it('keeps syncing a schema written before channels had sync versions', async () => {
      // The schema and rows as the previous release left them: a message bumped
      // every member row's version, and channels had no version of their own.
      const schema = newSchema();
      const client = await admin.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(`SET search_path TO ${schema}`);
        await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
        for (const [i, sql] of MIGRATIONS.slice(0, CHANNEL_VERSIONS_MIGRATION).entries()) {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
        }
        await client.query(ROWS_BEFORE_CHANNEL_VERSIONS);
      } finally {
        await client.query('RESET search_path');
        client.release();
      }

      // Those versions were counter values; now they are transaction ids, and a
      // cursor issued before (a plain number) reads the user's list from the start, once.
      const store = await openNode(schema);
      const bob = { channelId: 'c_d', lastSeq: 1, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null };
      for (const old of ['1', '2']) expect((await store.sync('u_bob', old, 10)).entries).toEqual([bob]);
      const { cursor } = await store.sync('u_bob', '2', 10);
      expect(await store.sync('u_bob', cursor, 10)).toMatchObject({ hasMore: false, entries: [] });
      // A new message moves the channel past that cursor.
      await store.appendMessages([{ channelId: 'c_d', senderId: 'u_alice', senderDeviceId: 'd_a', clientId: 'm2', text: 'again' }], 3);
      expect((await store.sync('u_bob', cursor, 10)).entries).toEqual([{ ...bob, lastSeq: 2 }]);
      // The old counter values are gone from the member rows (none was written since).
      const { rows } = await admin.query(`SELECT DISTINCT version::integer AS version FROM ${schema}.members`);
      expect(rows).toEqual([{ version: 0 }]);
    });

    it('refuses a schema migrated by a newer server', async () => {
      const schema = newSchema();
      await openNode(schema);
      await admin.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [MIGRATIONS.length + 1]);
      await expect(PostgresStore.open({ url: POSTGRES_URL, schema })).rejects.toThrow(/newer/);
    });

    it('indexes the hot paths', async () => {
      const schema = newSchema();
      await openNode(schema);
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path TO ${schema}`);
        // The tables are empty: forbid sequential scans to see which indexes can serve each query.
        await client.query('SET LOCAL enable_seqscan = off');
        const plan = async (sql: string): Promise<string> =>
          (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
        expect(await plan(`SELECT * FROM members WHERE user_id = 'u' AND version > 3 ORDER BY version LIMIT 10`)).toMatch(
          /Index Scan using members_by_user_version/,
        );
        expect(await plan(`SELECT * FROM messages WHERE channel_id = 'c' AND seq < 50 ORDER BY seq DESC LIMIT 10`)).toMatch(
          /Index Scan Backward using messages_pkey/,
        );
        expect(await plan(`SELECT * FROM messages WHERE channel_id = 'c' AND sender_device_id = 'd' AND client_id = 'k'`)).toMatch(
          /messages_send_key/,
        );
        expect(await plan(`SELECT * FROM users WHERE username >= 'al' AND username < 'al\uffff' ORDER BY username LIMIT 5`)).toMatch(
          // A range on the username index (on empty tables the planner may still sort a bitmap scan).
          /(Index Scan using|Bitmap Index Scan on) users_username_key/,
        );
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });

    it('keeps schemas apart', async () => {
      const one = await openNode(newSchema());
      const two = await openNode(newSchema());
      await createUsers(one, 'alice');
      expect(await two.getUserByUsername('alice')).toBeNull();
      await createUsers(two, 'alice');
      expect(await one.searchUsers('a', 10)).toHaveLength(1);
    });

    it('refuses schema names that would need quoting', async () => {
      await expect(PostgresStore.open({ url: POSTGRES_URL, schema: 'Bad-Name' })).rejects.toThrow(/schema name/);
    });
  });

  // --- losing the database -----------------------------------------------------

  describe('when the database is unavailable', () => {
    it('fails to open with a retryable unavailable error', async () => {
      const url = new URL(POSTGRES_URL);
      url.port = '1';
      const attempt = PostgresStore.open({ url: url.toString(), schema: newSchema() });
      await expect(attempt).rejects.toBeInstanceOf(AppError);
      await expect(attempt).rejects.toMatchObject({ code: 'unavailable' });
    });

    it('fails a send whose connection is killed with unavailable, then recovers on a new connection', async () => {
      const schema = newSchema();
      const application = uniqueName('confab_kill');
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('application_name', application);
      const store = await openNode(schema, url.toString(), 1);
      const [a, b] = await createUsers(store, 'alice', 'bob');
      await createGroup(store, 'c_g', a!, [b!]);

      // Hold the channel's lock so the send waits inside its transaction, then kill its backend.
      const blocker = await admin.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM ${schema}.channels WHERE id = 'c_g' FOR UPDATE`);
        const send = store.appendMessages([req('c_g', a!, 'k1')], T0);
        send.catch(() => undefined);
        let pid: number | undefined;
        for (let i = 0; i < 200 && pid === undefined; i++) {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [application],
          );
          pid = rows[0]?.pid;
          if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
        }
        expect(pid).toBeDefined();
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await expect(send).rejects.toBeInstanceOf(AppError);
        await expect(send).rejects.toMatchObject({ code: 'unavailable' });
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }

      // Nothing was written, and the retry goes through on a fresh connection.
      const retry = await store.appendMessages([req('c_g', a!, 'k1')], T0);
      expect(accepted(retry.results[0]).message.seq).toBe(2);
      expect(accepted(retry.results[0]).duplicate).toBe(false);
    });

    it('classifies connection failures as unavailable and leaves other errors alone', () => {
      const withCode = (code: string): Error => Object.assign(new Error('x'), { code });
      for (const code of ['08006', '08001', '08P01', '57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']) {
        expect(isUnavailableError(withCode(code)), code).toBe(true);
        expect(toStoreError(withCode(code))).toMatchObject({ code: 'unavailable' });
      }
      expect(isUnavailableError(new Error('Connection terminated unexpectedly'))).toBe(true);
      expect(isUnavailableError(new AggregateError([withCode('ECONNREFUSED')]))).toBe(true);
      for (const code of ['23505', '40001', '42P01', '22P02']) {
        expect(isUnavailableError(withCode(code)), code).toBe(false);
        const err = withCode(code);
        expect(toStoreError(err)).toBe(err);
      }
      const refusal = new AppError('forbidden');
      expect(toStoreError(refusal)).toBe(refusal);
    });
  });
});
