import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ heartbeatMs: 100, presenceTimeoutMs: 400 });
});
afterAll(() => srv.stop());

async function presenceOf(token: string, userIds: string[]) {
  return (await http(srv.url, 'POST', '/v1/presence/query', { token, body: { userIds } })).body.presence;
}

describe('presence', () => {
  it('pushes online and offline (with last seen) to 1:1 peers; online while any device is connected', async () => {
    const a = await newUser(srv.url, 'pa');
    const b = await newUser(srv.url, 'pb');
    await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } });
    const sb = await RawSocket.open(srv.url, b.token);
    const beat = setInterval(() => sb.send({ type: 'ping' }), 100);
    try {
      const before = Date.now();
      const phone = await login(srv.url, a.username, a.password, 'phone');
      const sa1 = await RawSocket.open(srv.url, a.token);
      expect(await sb.next('presence')).toMatchObject({ userId: a.user.id, online: true });
      const sa2 = await RawSocket.open(srv.url, phone.token);
      await sa1.close();
      expect((await presenceOf(b.token, [a.user.id]))[0]).toMatchObject({ online: true });
      await sa2.close();
      const off = await sb.next('presence', (f) => !f.online);
      expect(off.userId).toBe(a.user.id);
      expect(off.lastSeen).toBeGreaterThanOrEqual(before);
      const [q] = await presenceOf(b.token, [a.user.id]);
      expect(q).toMatchObject({ userId: a.user.id, online: false, lastSeen: off.lastSeen });
    } finally {
      clearInterval(beat);
      await sb.close();
    }
  });

  it('a silent connection is closed after the presence timeout and the user goes offline', async () => {
    const a = await newUser(srv.url, 'quiet');
    const b = await newUser(srv.url, 'watch');
    await http(srv.url, 'POST', '/v1/channels/direct', { token: b.token, body: { userId: a.user.id } });
    const sb = await RawSocket.open(srv.url, b.token);
    const beat = setInterval(() => sb.send({ type: 'ping' }), 100);
    try {
      const sa = await RawSocket.open(srv.url, a.token);
      await sb.next('presence', (f) => f.userId === a.user.id && f.online);
      const started = Date.now();
      expect(await sa.closed).toBe(CloseCode.HEARTBEAT_TIMEOUT);
      const off = await sb.next('presence', (f) => f.userId === a.user.id && !f.online);
      expect(off.online).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(sb.closeCode).toBeUndefined();
    } finally {
      clearInterval(beat);
      await sb.close();
    }
  });

  it('answers a query about oneself and one\'s contacts (people sharing a channel); strangers and unknown ids are left out', async () => {
    const [a, b, stranger] = [await newUser(srv.url, 'qa'), await newUser(srv.url, 'qb'), await newUser(srv.url, 'qc')];
    await http(srv.url, 'POST', '/v1/channels', { token: a.token, body: { name: 'Q', memberIds: [b.user.id] } });
    const sb = await RawSocket.open(srv.url, b.token);
    const ss = await RawSocket.open(srv.url, stranger.token);
    const res = await presenceOf(a.token, [a.user.id, b.user.id, stranger.user.id, 'u_unknown']);
    expect(res.map((p: { userId: string }) => p.userId).sort()).toEqual([a.user.id, b.user.id].sort());
    expect(res.find((p: { userId: string }) => p.userId === b.user.id).online).toBe(true);
    expect(res.find((p: { userId: string }) => p.userId === a.user.id)).toMatchObject({ online: false, lastSeen: null });
    expect(await presenceOf(stranger.token, [a.user.id, b.user.id])).toEqual([]);
    await Promise.all([sb.close(), ss.close()]);
  });

  it('sends typing indicators live to the other members only, and stores nothing', async () => {
    const a = await newUser(srv.url, 'ta');
    const b = await newUser(srv.url, 'tb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sa = await RawSocket.open(srv.url, a.token);
    const sb = await RawSocket.open(srv.url, b.token);
    sa.send({ type: 'typing', channelId: ch });
    expect(await sb.next('typing')).toEqual({ type: 'typing', channelId: ch, userId: a.user.id });
    await new Promise((r) => setTimeout(r, 50));
    expect(sa.frames.some((f) => f.type === 'typing')).toBe(false);
    expect((await http(srv.url, 'GET', `/v1/channels/${ch}/messages`, { token: a.token })).body.messages).toEqual([]);
    await Promise.all([sa.close(), sb.close()]);
  });
});
