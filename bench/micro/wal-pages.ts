import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../packages/server/src/adapters/store/sqlite-store.js';
import type { AppendRequest } from '../../packages/server/src/store/store.js';

/*
 * How many pages a message writes to SQLite's WAL, and in which B-trees.
 * A commit writes every page it dirtied in full (4 KiB each), and a checkpoint
 * copies them again into the database file, so pages per message is what the
 * store's write cost scales with. Appends commits of `batch` messages, each to
 * a random one of `channels` direct channels (or groups of `members`, drawn
 * from 10 users per group), then reads the WAL's frame headers (page numbers)
 * and names each page's B-tree through `dbstat`.
 *   node --conditions=@confab/source --import tsx bench/micro/wal-pages.ts [channels] [batch] [members] [commits]
 */

const channels = Number(process.argv[2] ?? 1000);
const batch = Number(process.argv[3] ?? 12);
// Small enough that the WAL is not checkpointed (and restarted) in between: 1,000 pages by default.
const members = Number(process.argv[4] ?? 2);
const commits = Number(process.argv[5] ?? Math.max(1, Math.floor(600 / (batch * 5))));
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

const dir = mkdtempSync(join(tmpdir(), 'confab-wal-'));
const path = join(dir, 'confab.db');
const store = SqliteStore.open({ path });
const T0 = Date.now();

async function main(): Promise<void> {
  const rooms: { channelId: string; a: string; b: string }[] = [];
  const users = members > 2 ? channels * 10 : channels * 2;
  for (let i = 0; i < users; i++) {
    const u = `u${i}`;
    await store.createUser({ id: u, username: u, displayName: u, passwordHash: 'x', createdAt: T0, lastSeen: null });
    await store.createDevice({ id: `d_${u}`, userId: u, name: 'd', platform: 'web', createdAt: T0, lastActiveAt: T0 }, `h_${u}`);
  }
  for (let i = 0; i < channels; i++) {
    if (members <= 2) {
      const { channel } = await store.getOrCreateDirect(`c${i}`, `u${2 * i}`, `u${2 * i + 1}`, T0);
      rooms.push({ channelId: channel.id, a: `u${2 * i}`, b: `u${2 * i + 1}` });
      continue;
    }
    const ids = new Set<string>();
    while (ids.size < members) ids.add(`u${Math.floor(Math.random() * users)}`);
    const [ownerId, ...memberIds] = [...ids];
    const system = { text: 'created', event: { event: 'created' as const, actorId: ownerId! } };
    await store.createGroup({ id: `g${i}`, name: `g${i}`, ownerId: ownerId!, memberIds, createdAt: T0, system });
    rooms.push({ channelId: `g${i}`, a: ownerId!, b: memberIds[0]! });
  }
  let n = 0;
  const commit = async () => {
    const requests: AppendRequest[] = [];
    for (let k = 0; k < batch; k++) {
      const p = rooms[Math.floor(Math.random() * rooms.length)]!;
      const sender = k % 2 ? p.a : p.b;
      requests.push({ channelId: p.channelId, senderId: sender, senderDeviceId: `d_${sender}`, clientId: `m${n++}`, text: 'x'.repeat(100) });
    }
    await store.appendMessages(requests, Date.now());
  };
  // A history of about 60 messages per channel first, so pages are as full as in a running server.
  for (let i = 0; i < (channels * 60) / batch; i++) await commit();

  // A second connection empties the WAL, then reads what the next commits write to it.
  const side = new Database(path);
  for (let round = 0; round < 3; round++) {
    side.pragma('wal_checkpoint(TRUNCATE)');
    for (let i = 0; i < commits; i++) await commit();
    const wal = readFileSync(`${path}-wal`);
    const pageSize = wal.readUInt32BE(8);
    const pages: number[] = [];
    for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) pages.push(wal.readUInt32BE(at));
    const tree = new Map<number, string>();
    for (const r of side.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[]) tree.set(r.pageno, r.name);
    const byTree = new Map<string, number>();
    for (const p of pages) byTree.set(tree.get(p) ?? '(free)', (byTree.get(tree.get(p) ?? '(free)') ?? 0) + 1);
    const perMessage = (count: number) => (count / (commits * batch)).toFixed(2);
    console.log(
      `${perMessage(pages.length)} pages (${((pages.length * pageSize) / (commits * batch) / 1024).toFixed(1)} KiB) per message in commits of ${batch}, ${members} members per channel: ` +
        [...byTree].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${perMessage(count)}`).join(', '),
    );
  }
  side.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

void main();
