import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../packages/server/src/adapters/store/sqlite-store.js';
import type { AppendRequest, Store } from '../../packages/server/src/store/store.js';

/*
 * The embedded store's cost per operation on the hot paths, without sockets:
 * appending 1:1 messages in group-commit batches (with and without push
 * recording), watermark updates and push-job clearing as a receipts flush
 * does them. Prints microseconds of this process's CPU per operation.
 *   node --conditions=@confab/source --import tsx bench/micro/store-append.ts [channels] [batch]
 */

const channels = Number(process.argv[2] ?? 1000);
const batch = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'confab-micro-'));
const store: Store = SqliteStore.open({ path: join(dir, 'confab.db'), synchronous: process.env.SYNC === 'normal' ? 'normal' : 'full' });
const T0 = Date.now();

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main() {
  const pairs: { channelId: string; a: string; b: string }[] = [];
  for (let i = 0; i < channels; i++) {
    for (const u of [`u${i}a`, `u${i}b`]) {
      await store.createUser({ id: u, username: u, displayName: u, passwordHash: 'x', createdAt: T0, lastSeen: null });
      await store.createDevice({ id: `d_${u}`, userId: u, name: 'd', platform: 'web', createdAt: T0, lastActiveAt: T0 }, `h_${u}`);
    }
    const { channel } = await store.getOrCreateDirect(`c${i}`, `u${i}a`, `u${i}b`, T0);
    pairs.push({ channelId: channel.id, a: `u${i}a`, b: `u${i}b` });
  }
  let n = 0;
  const run = async (label: string, total: number, push: boolean) => {
    const t0 = cpuUs();
    const w0 = performance.now();
    for (let done = 0; done < total; done += batch) {
      const reqs: AppendRequest[] = [];
      for (let k = 0; k < batch; k++) {
        const p = pairs[(done + k) % pairs.length]!;
        const sender = k % 2 ? p.a : p.b;
        reqs.push({ channelId: p.channelId, senderId: sender, senderDeviceId: `d_${sender}`, clientId: `m${n++}`, text: 'x'.repeat(100) });
      }
      const at = Date.now();
      await store.appendMessages(reqs, at, push ? { dueAt: at + 4000, minIntervalMs: 5000 } : undefined);
    }
    const cpu = cpuUs() - t0;
    console.log(`${label}: ${(cpu / total).toFixed(1)} µs CPU per message, ${(cpu / (total / batch)).toFixed(0)} µs per commit of ${batch}; ${Math.round(total / ((performance.now() - w0) / 1000))} msg/s wall`);
  };
  await run('warm-up', 20_000, true);
  await run('append, push on ', 50_000, true);
  await run('append, push off', 50_000, false);

  const t0 = cpuUs();
  let rows = 0;
  for (let round = 0; round < 20; round++) {
    const updates = pairs.flatMap((p) => [{ channelId: p.channelId, userId: p.a, deliveredSeq: 1e9 }, { channelId: p.channelId, userId: p.b, deliveredSeq: 1e9 }]);
    await store.updateReceipts(updates);
    rows += updates.length;
    await store.appendMessages(pairs.map((p, i) => ({ channelId: p.channelId, senderId: p.a, senderDeviceId: `d_${p.a}`, clientId: `r${round}-${i}`, text: 'y' })), Date.now());
  }
  console.log(`receipts: ${((cpuUs() - t0) / rows).toFixed(1)} µs CPU per watermark row (including one append per channel per round)`);
  const t1 = cpuUs();
  let acks = 0;
  for (let round = 0; round < 20; round++) {
    const list = pairs.flatMap((p) => [{ deviceId: `d_${p.a}`, channelId: p.channelId, seq: 1e9 }, { deviceId: `d_${p.b}`, channelId: p.channelId, seq: 1e9 }]);
    await store.clearPushJobs(list);
    acks += list.length;
  }
  console.log(`push clear: ${((cpuUs() - t1) / acks).toFixed(1)} µs CPU per delivered ack`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

void main();
