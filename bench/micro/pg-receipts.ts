import pg from 'pg';
import { PostgresStore } from '../../packages/server/src/adapters/store/postgres-store.js';
import { postgresPids, serviceCpuSeconds } from '../lib/proc-stats.js';

/*
 * What a batch of receipts costs PostgreSQL, without sockets: 10 groups of
 * 100 with 600 messages each, then `writers` loops updating `batch`
 * watermarks at a time (every one moves delivered forward, one in five also
 * read), as a node's receipts flush does. Prints receipts per second and the
 * CPU of PostgreSQL's processes per receipt (µs). Needs PostgreSQL
 * (CONFAB_BENCH_POSTGRES_URL); works in a schema of its own, dropped at the end.
 *   node --conditions=@confab/source --import tsx bench/micro/pg-receipts.ts [batch] [writers]
 */

const POSTGRES_URL = process.env.CONFAB_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const batch = Number(process.argv[2] ?? 50);
const writers = Number(process.argv[3] ?? 1);
const MESSAGES_PER_GROUP = 600;
const schema = `confab_bench_receipts_${process.pid}`;
const T0 = Date.now();


async function main(): Promise<void> {
  const store = await PostgresStore.open({ url: POSTGRES_URL, schema, poolSize: writers + 1 });
  try {
    const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
    for (const u of users) await store.createUser({ id: u, username: u, displayName: u, passwordHash: 'x', createdAt: T0, lastSeen: null });
    const groups = Array.from({ length: 10 }, (_, g) => `g${g}`);
    for (const id of groups) {
      const system = { text: 'created', event: { event: 'created' as const, actorId: users[0]! } };
      await store.createGroup({ id, name: id, ownerId: users[0]!, memberIds: users.slice(1), createdAt: T0, system });
    }
    let n = 0;
    for (let b = 0; b < (MESSAGES_PER_GROUP * groups.length) / 100; b++) {
      await store.appendMessages(
        Array.from({ length: 100 }, (_, i) => ({ channelId: groups[i % 10]!, senderId: users[i % 100]!, senderDeviceId: 'd', clientId: `m${n++}`, text: 'x' })),
        T0,
      );
    }

    // Each loop moves its own members' watermarks one message further per batch.
    let receipts = 0;
    const began = performance.now();
    const cpuBefore = serviceCpuSeconds(postgresPids());
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let seq = 2; seq < MESSAGES_PER_GROUP - 10; seq++) {
          const updates = Array.from({ length: batch }, (_, k) => ({
            channelId: groups[k % 10]!,
            userId: users[(w * batch + k) % 100]!,
            deliveredSeq: seq,
            readSeq: k % 5 === 0 ? seq - 1 : undefined,
          }));
          await store.updateReceipts(updates);
          receipts += batch;
        }
      }),
    );
    const cpu = serviceCpuSeconds(postgresPids()) - cpuBefore;
    const wall = (performance.now() - began) / 1000;
    console.log(JSON.stringify({ batch, writers, receiptsPerSec: Math.round(receipts / wall), postgresCpuUsPerReceipt: Math.round((cpu * 1e6) / receipts) }));
  } finally {
    await store.close();
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

void main();
