import type { Message } from '@confab/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/adapters/redis/connect.js';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { client, collect } from '../support/sdk.js';
import { startServer, type TestServer } from '../support/server.js';
import { REDIS_URL, postgresAvailable, redisAvailable, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/*
 * PostgreSQL or Redis going away for a few seconds, injected with TCP
 * proxies in front of the real services (so other suites are not disturbed).
 */
const run = postgresAvailable && redisAvailable;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let nodes: TestServer[] = [];
const schema = uniqueName('confab_outage');
const prefix = `${uniqueName('confab-outage')}:`;

beforeAll(async () => {
  if (!run) return;
  pgProxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
  redisProxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
  const shared = {
    databaseUrl: `postgres://postgres@127.0.0.1:${pgProxy.port}/postgres`,
    databaseSchema: schema,
    redisUrl: `redis://127.0.0.1:${redisProxy.port}`,
    redisKeyPrefix: prefix,
    heartbeatMs: 300,
    presenceTimeoutMs: 1_500,
  };
  nodes = [await startServer({ ...shared, nodeId: 'o1' }, {}, { keepData: true }), await startServer({ ...shared, nodeId: 'o2' }, {}, { keepData: true })];
}, 60_000);

afterAll(async () => {
  if (!run) return;
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all([pgProxy.close(), redisProxy.close()]);
  // Both nodes used the same schema and prefix: drop them once, through the real services.
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.end();
  for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  // Writes the stopped nodes had in flight land within a few milliseconds.
  await new Promise((r) => setTimeout(r, 300));
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

async function history(url: string, token: string, channelId: string): Promise<Message[]> {
  const page = await http(url, 'GET', `/v1/channels/${channelId}/messages?limit=200`, { token });
  return page.body.messages;
}

describe.runIf(run)('outages of the shared services', () => {
  it('PostgreSQL away for 3 s: sends fail retryably, the SDK retries, nothing is lost or doubled', async () => {
    const [n1, n2] = nodes as [TestServer, TestServer];
    const a = await newUser(n1.url, 'pga');
    const b = await newUser(n2.url, 'pgb');
    const ch = (await http(n1.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sender = client(n1.url, a.token, { discovery: false });
    const receiver = client(n2.url, b.token, { discovery: false });
    const log = collect(receiver);
    await Promise.all([sender.connect(), receiver.connect()]);
    const raw = await RawSocket.open(n1.url, a.token);

    const sends: Promise<unknown>[] = [];
    const texts: string[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 10) {
        pgProxy.cut();
        // A send during the outage is refused as retryable, never silently dropped.
        raw.send({ type: 'send', id: 'during-outage', channelId: ch, text: 'probe' });
        expect(await raw.next('error', (f) => f.id === 'during-outage', 10_000)).toMatchObject({ code: 'unavailable', retryable: true });
      }
      if (i === 25) pgProxy.restore();
      texts.push(`p${i}`);
      sends.push(sender.send(ch, `p${i}`));
      await new Promise((r) => setTimeout(r, i >= 10 && i < 25 ? 200 : 10));
    }
    if (pgProxy) pgProxy.restore();
    await Promise.all(sends);
    const stored = await history(n2.url, b.token, ch);
    expect(stored.map((m) => m.text)).toEqual(texts);
    await log.until(40, 20_000);
    expect(log.of(ch).map((m) => m.text)).toEqual(texts);
    await raw.close();
    sender.close();
    receiver.close();
  }, 60_000);

  it('Redis away for 3 s: acknowledged messages still reach everyone once, fan-out and presence recover by themselves', async () => {
    const [n1, n2] = nodes as [TestServer, TestServer];
    const a = await newUser(n1.url, 'rda');
    const b = await newUser(n2.url, 'rdb');
    const ch = (await http(n1.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sender = client(n1.url, a.token, { discovery: false });
    const receiver = client(n2.url, b.token, { discovery: false });
    const log = collect(receiver);
    await Promise.all([sender.connect(), receiver.connect()]);
    await sender.send(ch, 'before');
    await log.until(1);

    redisProxy.cut();
    // Storage is untouched: sends are still acknowledged while live fan-out is down.
    const during = await Promise.all(['d1', 'd2', 'd3'].map((t) => sender.send(ch, t)));
    expect(during.map((x) => x.seq)).toEqual([2, 3, 4]);
    await new Promise((r) => setTimeout(r, 3_000));
    redisProxy.restore();

    // Once Redis is back, live delivery works again, and the gap is filled by the SDK.
    await new Promise((r) => setTimeout(r, 1_500));
    await sender.send(ch, 'after');
    await log.until(5, 20_000);
    expect(log.of(ch).map((m) => m.text)).toEqual(['before', 'd1', 'd2', 'd3', 'after']);
    const presence = await http(n1.url, 'POST', '/v1/presence/query', { token: a.token, body: { userIds: [b.user.id] } });
    expect(presence.body.presence[0].online).toBe(true);
    sender.close();
    receiver.close();
  }, 60_000);
});
