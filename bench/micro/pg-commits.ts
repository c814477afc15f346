import pg from 'pg';
import { PostgresStore } from '../../packages/server/src/adapters/store/postgres-store.js';
import type { AppendRequest } from '../../packages/server/src/store/store.js';
import { newHistogram, summarize } from '../lib/histogram.js';
import { postgresPids, serviceCpuSeconds } from '../lib/proc-stats.js';

/*
 * How PostgreSQL commits of sends scale with the number of writers at once,
 * without sockets: `writers` loops, spread over two store instances (two
 * nodes' pools), each appending batches of `batch` 1:1 messages to random
 * channels of its own, one batch after another. Writers never touch the same
 * channel, so nothing in the data makes them wait for each other: what they
 * share is the database, its WAL flushes, and whatever lock every commit takes.
 * Prints commits and messages per second, the commit latency, and the CPU
 * of PostgreSQL's processes per message (µs) for each number of writers. Needs PostgreSQL (CONFAB_BENCH_POSTGRES_URL); works in a
 * schema of its own, dropped at the end. The tables are analyzed once the
 * users and channels exist, as the scenarios do; PG_COMMITS_NO_ANALYZE=1
 * leaves them without statistics (as every run before 2026-11-25g did).
 *   node --conditions=@confab/source --import tsx bench/micro/pg-commits.ts [seconds per step] [batch] [writers,...]
 */

const POSTGRES_URL = process.env.CONFAB_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.argv[2] ?? 5);
const batch = Number(process.argv[3] ?? 1);
const steps = (process.argv[4] ?? '1,2,4,8,16').split(',').map(Number);
const CHANNELS_PER_WRITER = 50;
const schema = `confab_bench_commits_${process.pid}`;
const T0 = Date.now();


async function main(): Promise<void> {
  const most = Math.max(...steps);
  const poolSize = Math.ceil(most / 2) + 1;
  const nodes = [await PostgresStore.open({ url: POSTGRES_URL, schema, poolSize }), await PostgresStore.open({ url: POSTGRES_URL, schema, poolSize })];
  try {
    const setup = nodes[0]!;
    const rooms: { channelId: string; a: string; b: string }[][] = [];
    for (let w = 0; w < most; w++) {
      const mine: { channelId: string; a: string; b: string }[] = [];
      for (let i = 0; i < CHANNELS_PER_WRITER; i++) {
        const [a, b] = [`u${w}_${i}a`, `u${w}_${i}b`];
        for (const u of [a, b]) {
          await setup.createUser({ id: u, username: u, displayName: u, passwordHash: 'x', createdAt: T0, lastSeen: null });
          await setup.createDevice({ id: `d_${u}`, userId: u, name: 'd', platform: 'web', createdAt: T0, lastActiveAt: T0 }, `h_${u}`);
        }
        const { channel } = await setup.getOrCreateDirect(`c${w}_${i}`, a, b, T0);
        mine.push({ channelId: channel.id, a, b });
      }
      rooms.push(mine);
    }
    // As the scenarios do once provisioning is done (the Confab target's settle): statistics
    // for the filled tables, which autovacuum would gather within a minute.
    if (process.env.PG_COMMITS_NO_ANALYZE !== '1') {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`ANALYZE ${['users', 'devices', 'channels', 'members', 'messages', 'blocks'].map((t) => `${schema}.${t}`).join(', ')}`);
      await admin.end();
    }

    let n = 0;
    for (const writers of steps) {
      const latency = newHistogram();
      let commits = 0;
      const until = performance.now() + seconds * 1000;
      const loop = async (w: number): Promise<void> => {
        const store = nodes[w % 2]!;
        while (performance.now() < until) {
          const requests: AppendRequest[] = [];
          for (let k = 0; k < batch; k++) {
            const p = rooms[w]![Math.floor(Math.random() * CHANNELS_PER_WRITER)]!;
            const sender = k % 2 ? p.a : p.b;
            requests.push({ channelId: p.channelId, senderId: sender, senderDeviceId: `d_${sender}`, clientId: `m${n++}`, text: 'x'.repeat(100) });
          }
          const started = performance.now();
          await store.appendMessages(requests, Date.now());
          latency.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
          commits++;
        }
      };
      const began = performance.now();
      const cpuBefore = serviceCpuSeconds(postgresPids());
      await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
      const postgresCpu = serviceCpuSeconds(postgresPids()) - cpuBefore;
      const wall = (performance.now() - began) / 1000;
      const l = summarize(latency);
      console.log(
        JSON.stringify({
          writers,
          batch,
          commitsPerSec: Math.round(commits / wall),
          messagesPerSec: Math.round((commits * batch) / wall),
          commitP50Ms: l.p50Ms,
          commitP99Ms: l.p99Ms,
          postgresCpuUsPerMessage: Math.round((postgresCpu * 1e6) / (commits * batch)),
        }),
      );
    }
  } finally {
    await Promise.all(nodes.map((s) => s.close()));
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

void main();
