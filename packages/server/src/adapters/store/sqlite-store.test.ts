import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../../store/store.contract.js';
import { ROWS_BEFORE_CHANNEL_VERSIONS, expectSyncAcrossUpgrade } from '../../store/sync-upgrade.contract.js';
import type { AppendRequest, ChannelChange } from '../../store/store.js';
import { openSqlite } from './sqlite-driver.js';
import { MIGRATIONS, migrate } from './sqlite-migrations.js';
import { SqliteStore } from './sqlite-store.js';

/** A fresh directory per database; the nested path also checks that open() creates parent directories. */
function tempDbPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'confab-sqlite-'));
  return { dir, path: join(dir, 'nested', 'confab.db') };
}

describeStoreContract('SqliteStore', async () => {
  const { dir, path } = tempDbPath();
  const store = SqliteStore.open({ path });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore on disk', () => {
  const dirs: string[] = [];
  const open: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function newPath(): string {
    const { dir, path } = tempDbPath();
    dirs.push(dir);
    return path;
  }
  function openStore(path: string, synchronous?: 'full' | 'normal'): SqliteStore {
    const store = SqliteStore.open({ path, ...(synchronous && { synchronous }) });
    open.push(store);
    return store;
  }
  function inspect<T>(path: string, fn: (db: Sqlite.Database) => T): T {
    const db = new Sqlite(path, { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  const msg = (channelId: string, senderId: string, clientId: string): AppendRequest => ({
    channelId,
    senderId,
    senderDeviceId: 'd_1',
    clientId,
    text: `text ${clientId}`,
  });
  const user = (name: string) => ({
    id: `u_${name}`,
    username: name,
    displayName: name,
    passwordHash: 'h',
    createdAt: 1,
    lastSeen: null,
  });

  it('runs in WAL mode with the schema migrated', async () => {
    const path = newPath();
    openStore(path);
    inspect(path, (db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    });
  });

  it('opens with synchronous=NORMAL when asked, and in memory', async () => {
    const normal = openStore(newPath(), 'normal');
    await normal.createUser(user('alice'));
    expect(await normal.getUserByUsername('alice')).not.toBeNull();

    const memory = openStore(':memory:');
    await memory.createUser(user('bob'));
    expect(await memory.getUser('u_bob')).not.toBeNull();
  });

  it('keeps all data across a reopen and continues seq and version counters', async () => {
    const path = newPath();
    const first = openStore(path);
    await first.createUser(user('alice'));
    await first.createUser(user('bob'));
    await first.createDevice({ id: 'd_1', userId: 'u_alice', name: 'phone', platform: 'ios', createdAt: 1, lastActiveAt: 1 }, 'token-hash');
    await first.createGroup({
      id: 'c_g',
      name: 'g',
      ownerId: 'u_alice',
      memberIds: ['u_bob'],
      createdAt: 10,
      system: { text: 'created', event: { event: 'created', actorId: 'u_alice' } },
    });
    await first.appendMessages([msg('c_g', 'u_alice', 'a'), msg('c_g', 'u_bob', 'b')], 20);
    await first.updateReceipts([{ channelId: 'c_g', userId: 'u_bob', readSeq: 2 }]);
    const cursor = (await first.sync('u_bob', null, 10)).cursor;
    const history = await first.getMessages('c_g', { limit: 10 });
    const memberships = await first.listMemberships('u_bob');
    await first.close();

    const second = openStore(path);
    expect(await second.getUser('u_alice')).toStrictEqual(user('alice'));
    expect((await second.findDeviceByTokenHash('token-hash'))?.device.id).toBe('d_1');
    expect(await second.getMessages('c_g', { limit: 10 })).toStrictEqual(history);
    expect(await second.listMemberships('u_bob')).toStrictEqual(memberships);
    expect((await second.sync('u_bob', null, 10)).cursor).toBe(cursor);

    // seq continues from the stored head, and idempotency survives the restart.
    const { results } = await second.appendMessages([msg('c_g', 'u_alice', 'c'), msg('c_g', 'u_alice', 'a')], 30);
    expect(results.map((r) => r.ok && [r.message.seq, r.duplicate])).toEqual([
      [4, false],
      [2, true],
    ]);
    // Versions continue too: the old cursor sees the new change, and only that.
    const page = await second.sync('u_bob', cursor, 10);
    // bob's read watermark is 3: his own message moved it there.
    expect(page.entries).toEqual([{ channelId: 'c_g', lastSeq: 4, joinedSeq: 1, readSeq: 3, left: false, mutedUntil: null }]);
    expect(Number(page.cursor)).toBeGreaterThan(Number(cursor));
  });

  it('applies migrations once: reopening and re-running them changes nothing', async () => {
    const path = newPath();
    const store = openStore(path);
    await store.createUser(user('alice'));
    await store.close();
    openStore(path);

    const db = openSqlite(path);
    try {
      migrate(db);
      migrate(db);
      expect(db.pragma('user_version')).toBe(MIGRATIONS.length);
      expect(db.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 1 });
      expect(db.prepare(`SELECT count(*) AS n FROM meta WHERE key = 'version'`).get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('keeps syncing a database written before channels had sync versions', async () => {
    // The schema and rows as the previous release left them: a message bumped
    // every member row's version, and channels had no version of their own.
    const path = newPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new Sqlite(path);
    for (const sql of MIGRATIONS.slice(0, -1)) old.exec(sql);
    old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    old.exec(ROWS_BEFORE_CHANNEL_VERSIONS);
    old.close();

    await expectSyncAcrossUpgrade(openStore(path));
  });

  it('refuses a database from a newer schema', async () => {
    const path = newPath();
    openStore(path);
    const db = openSqlite(path);
    try {
      db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      expect(() => migrate(db)).toThrow(/newer/);
    } finally {
      db.close();
    }
  });

  it('indexes the hot paths', async () => {
    const path = newPath();
    openStore(path);
    inspect(path, (db) => {
      const plan = (sql: string): string =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
      expect(plan(`SELECT * FROM members WHERE user_id = 'u' AND version > 3 ORDER BY version LIMIT 10`)).toMatch(
        /USING INDEX members_by_user_version \(user_id=\? AND version>\?\)/,
      );
      expect(plan(`SELECT * FROM messages WHERE channel_id = 'c' AND seq < 50 ORDER BY seq DESC LIMIT 10`)).toMatch(
        /USING INDEX sqlite_autoindex_messages_\d \(channel_id=\? AND seq<\?\)/,
      );
      expect(plan(`SELECT * FROM users WHERE username >= 'al' AND username < 'al\uffff' ORDER BY username LIMIT 5`)).toMatch(
        /USING (COVERING )?INDEX sqlite_autoindex_users_\d \(username>\? AND username<\?\)/,
      );
    });
  });

  it('writes nothing when a change fails while it is being applied', async () => {
    const store = openStore(newPath());
    for (const name of ['alice', 'bob', 'carol']) await store.createUser(user(name));
    await store.createGroup({
      id: 'c_g',
      name: 'g',
      ownerId: 'u_alice',
      memberIds: ['u_bob'],
      createdAt: 10,
      system: { text: 'created', event: { event: 'created', actorId: 'u_alice' } },
    });
    // The rename and the add apply first; removing a non-member then fails.
    const decide = (): ChannelChange => ({
      rename: 'renamed',
      add: [{ userId: 'u_carol', role: 'member' }],
      remove: ['u_nobody'],
      system: { actorId: 'u_alice', text: 'x', event: { event: 'renamed', actorId: 'u_alice' } },
    });
    await expect(store.changeChannel('c_g', decide, 20)).rejects.toMatchObject({ code: 'not_member' });
    expect(await store.getChannel('c_g')).toMatchObject({ name: 'g', lastSeq: 1, memberCount: 2 });
    expect(await store.getMember('c_g', 'u_carol')).toBeNull();
  });
});
