import { SqliteStore } from '../../packages/server/src/adapters/store/sqlite-store.js';

/*
 * Appends messages to channels of a stopped server's database through the
 * store's own group commit, for the history scenario. It runs in its own
 * process so that the garbage of a million appends is not collected later in
 * the process that measures latency.
 *   node --import tsx bench/lib/history-fill.ts <db> <senderId> <channelId>=<count> ...
 */

const [path, senderId, ...fills] = process.argv.slice(2);
if (!path || !senderId || fills.length === 0) throw new Error('usage: history-fill <db> <senderId> <channelId>=<count> ...');
const store = SqliteStore.open({ path, synchronous: 'normal' });
const text = 'A message of about a hundred bytes, like most chat messages are, give or take some emoji 🙂 and more';
for (const fill of fills) {
  const [channelId, countText] = fill.split('=') as [string, string];
  const count = Number(countText);
  for (let done = 0; done < count; ) {
    const n = Math.min(5_000, count - done);
    const batch = Array.from({ length: n }, (_, i) => ({ channelId, senderId, senderDeviceId: 'bench-loader', clientId: `h${done + i}`, text }));
    await store.appendMessages(batch, Date.now());
    done += n;
  }
}
await store.close();
