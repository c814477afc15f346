import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { client, collect, waitFor } from '../support/sdk.js';
import { postgresAvailable, redisAvailable } from '../support/services.js';
import { startCluster, type Cluster } from './cluster-harness.js';

const run = postgresAvailable && redisAvailable;
let cluster: Cluster;
let urls: string[];

beforeAll(async () => {
  if (!run) return;
  cluster = await startCluster(3);
  urls = cluster.nodes.map((n) => n.url);
}, 60_000);
afterAll(async () => {
  if (run) await cluster.stop();
});

const pinned = (url: string, token: string) => client(url, token, { discovery: false });

describe.runIf(run)('three nodes on PostgreSQL and Redis behave as one', () => {
  it('1:1 chat between users on different nodes, live and in order', async () => {
    const a = await newUser(urls[0]!, 'xa');
    const b = await newUser(urls[1]!, 'xb');
    const ca = pinned(urls[0]!, a.token);
    const cb = pinned(urls[1]!, b.token);
    const inbox = collect(cb);
    await Promise.all([ca.connect(), cb.connect()]);
    const ch = (await http(urls[2]!, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => ca.send(ch, `x${i}`)));
    expect(acks.map((x) => x.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await inbox.until(20);
    expect(inbox.messages.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `x${i}`));
    ca.close();
    cb.close();
  });

  it('a group spread over three nodes, with one user\'s devices on two nodes in sync', async () => {
    const [a, b, c] = await Promise.all(urls.map((u, i) => newUser(u, `g${i}`)));
    const c2 = await login(urls[0]!, c!.username, c!.password, 'second');
    const clients = [pinned(urls[0]!, a!.token), pinned(urls[1]!, b!.token), pinned(urls[2]!, c!.token), pinned(urls[0]!, c2.token)];
    const logs = clients.map(collect);
    await Promise.all(clients.map((x) => x.connect()));
    const group = (await http(urls[0]!, 'POST', '/v1/channels', { token: a!.token, body: { name: 'Spread', memberIds: [b!.user.id, c!.user.id] } })).body.channel.id;
    await clients[1]!.send(group, 'from b on node2');
    await clients[3]!.send(group, 'from c on node1');
    await clients[2]!.send(group, 'from c on node3');
    for (const log of logs) {
      await log.until(4);
      expect(log.of(group).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      expect(log.of(group).slice(1).map((m) => m.text)).toEqual(['from b on node2', 'from c on node1', 'from c on node3']);
    }
    // Reading on one device (node3) reaches the user's other device (node1) and the sender (node2).
    const seen: number[] = [];
    clients[3]!.on('receipts', (r) => r.receipts.forEach((x) => x.userId === c!.user.id && seen.push(x.readSeq)));
    const bSeen: number[] = [];
    clients[1]!.on('receipts', (r) => r.receipts.forEach((x) => x.userId === c!.user.id && bSeen.push(x.readSeq)));
    await clients[0]!.send(group, 'unread for c');
    await logs[2]!.until(5);
    clients[2]!.markRead(group, 5);
    await waitFor(() => seen.includes(5) && bSeen.includes(5), 5_000, 'read receipts across nodes');
    clients.forEach((x) => x.close());
  });

  it('typing and presence cross nodes', async () => {
    const a = await newUser(urls[0]!, 'ta');
    const b = await newUser(urls[1]!, 'tb');
    const ch = (await http(urls[0]!, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sa = await RawSocket.open(urls[0]!, a.token);
    const beat = setInterval(() => sa.send({ type: 'ping' }), 300);
    try {
      const sb = await RawSocket.open(urls[1]!, b.token);
      expect(await sa.next('presence', (f) => f.userId === b.user.id && f.online)).toMatchObject({ online: true });
      sb.send({ type: 'typing', channelId: ch });
      expect(await sa.next('typing')).toEqual({ type: 'typing', channelId: ch, userId: b.user.id });
      const q = await http(urls[2]!, 'POST', '/v1/presence/query', { token: a.token, body: { userIds: [b.user.id] } });
      expect(q.body.presence[0].online).toBe(true);
      await sb.close();
      expect(await sa.next('presence', (f) => f.userId === b.user.id && !f.online)).toMatchObject({ online: false });
    } finally {
      clearInterval(beat);
      await sa.close();
    }
  });

  it('discovery hands out live nodes, least loaded first', async () => {
    const u = await newUser(urls[0]!, 'disco');
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await http(urls[i % 3]!, 'GET', '/v1/connect', { token: u.token })).body.url);
    expect([...seen].every((x) => urls.includes(x))).toBe(true);
    expect(seen.size).toBeGreaterThan(1);
  });
});
