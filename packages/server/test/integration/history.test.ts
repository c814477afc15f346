import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

describe('history', () => {
  it('pages backwards and forwards by seq with bounded pages', async () => {
    const a = await newUser(srv.url, 'ha');
    const b = await newUser(srv.url, 'hb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    await Promise.all(Array.from({ length: 120 }, (_, i) => http(srv.url, 'POST', `/v1/channels/${ch}/messages`, { token: a.token, body: { clientId: `c${i}`, text: `n${i}` } })));
    const get = async (q: string) => (await http(srv.url, 'GET', `/v1/channels/${ch}/messages${q}`, { token: b.token })).body;
    const newest = await get('');
    expect(newest.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
    expect(newest.hasMore).toBe(true);
    const older = await get('?before=71&limit=60');
    expect(older.messages[0].seq).toBe(11);
    expect(older.messages.at(-1).seq).toBe(70);
    const oldest = await get('?before=11&limit=60');
    expect(oldest.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + i));
    expect(oldest.hasMore).toBe(false);
    const forward = await get('?after=100&limit=10');
    expect(forward.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 101 + i));
    expect(forward.hasMore).toBe(true);
    const tail = await get('?after=115');
    expect(tail.messages.map((m: { seq: number }) => m.seq)).toEqual([116, 117, 118, 119, 120]);
    expect(tail.hasMore).toBe(false);
    // Every message has exactly one seq and the set is gap-free.
    const all = [...oldest.messages, ...older.messages, ...newest.messages].map((m: { text: string }) => m.text);
    expect(new Set(all).size).toBe(120);
  });

  it('refuses pages larger than the maximum and nonsense bounds', async () => {
    const a = await newUser(srv.url, 'hz');
    const b = await newUser(srv.url, 'hy');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    for (const q of ['?limit=201', '?limit=0', '?before=-1', '?after=abc', '?limit=NaN', '?after=1e400', '?after=1.5', '?after=0x10', '?limit=%207', '?after=99999999999999999']) {
      const res = await http(srv.url, 'GET', `/v1/channels/${ch}/messages${q}`, { token: a.token });
      expect(res.status, q).toBe(400);
      expect(res.body.code).toBe('bad_request');
    }
  });
});
