import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';

/*
 * The rate limits, with small allowances so the tests reach them quickly.
 * Logins come "from" different client addresses through X-Forwarded-For
 * (TRUST_PROXY), so each case has addresses of its own.
 */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({
    trustProxy: true,
    sendMessagesPerSecond: 2,
    sendMessagesBurst: 3,
    sendBytesPerSecond: 100_000,
    sendBytesBurst: 400_000,
    loginFailuresPerAccount: 3,
    loginFailuresPerAddress: 5,
    loginFailureWindowMs: 60_000,
    groupOpsPerMinute: 3,
  });
});
afterAll(() => srv.stop());

async function pair() {
  const a = await newUser(srv.url, 'rl');
  const b = await newUser(srv.url, 'rm');
  const open = await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } });
  return { a, b, channelId: open.body.channel.id as string };
}

async function texts(token: string, channelId: string): Promise<string[]> {
  return (await http(srv.url, 'GET', `/v1/channels/${channelId}/messages?limit=200`, { token })).body.messages.map((m: { text: string }) => m.text);
}

/** A login from a given client address, with the raw response (status, headers, body). */
async function loginFrom(address: string, username: string, password: string) {
  const res = await fetch(`${srv.url}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

describe('send limits (per device, WebSocket and HTTP together)', () => {
  it('refuses sends past the burst with a retryable rate_limited carrying retryAfterMs; the same client id goes through afterwards', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    for (let i = 1; i <= 3; i++) s.send({ type: 'send', id: `m${i}`, channelId, text: `m${i}` });
    for (let i = 1; i <= 3; i++) expect((await s.next('ack', (f) => f.id === `m${i}`)).seq).toBe(i);
    s.send({ type: 'send', id: 'm4', channelId, text: 'm4' });
    const refused = await s.next('error', (f) => f.id === 'm4');
    expect(refused).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500);

    // The same device over HTTP shares the allowance: 429 with Retry-After (whole seconds).
    const viaHttp = await fetch(`${srv.url}/v1/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
      body: JSON.stringify({ clientId: 'h1', text: 'h1' }),
    });
    expect(viaHttp.status).toBe(429);
    expect(viaHttp.headers.get('retry-after')).toBe('1');
    const body = (await viaHttp.json()) as { code: string; retryable: boolean; retryAfterMs: number };
    expect(body).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(body.retryAfterMs).toBeGreaterThan(0);

    // Another device of the same user has its own allowance.
    const phone = await login(srv.url, a.username, a.password, 'phone');
    expect((await http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token: phone.token, body: { clientId: 'p1', text: 'p1' } })).status).toBe(201);

    await sleep(body.retryAfterMs + 20);
    s.send({ type: 'send', id: 'm4', channelId, text: 'm4' });
    expect(await s.next('ack', (f) => f.id === 'm4')).toMatchObject({ seq: 5, duplicate: false });
    expect(await texts(a.token, channelId)).toEqual(['m1', 'm2', 'm3', 'p1', 'm4']);
    await s.close();
  });

  it('limits bytes of text too, and a refused large send holds back a small one behind it', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    const big = '😀'.repeat(75_000); // 300,000 bytes of UTF-8
    s.send({ type: 'send', id: 'big1', channelId, text: big });
    expect((await s.next('ack', (f) => f.id === 'big1')).seq).toBe(1);
    s.send({ type: 'send', id: 'big2', channelId, text: big });
    const refused = await s.next('error', (f) => f.id === 'big2');
    expect(refused.code).toBe('rate_limited');
    expect(refused.retryAfterMs).toBeGreaterThan(1_000);
    s.send({ type: 'send', id: 'small', channelId, text: 'hi' });
    expect((await s.next('error', (f) => f.id === 'small')).code).toBe('rate_limited');
    expect((await texts(a.token, channelId)).length).toBe(1);
    await s.close();
  });
});

describe('failed login limits', () => {
  it('per account: past the failures allowed, even the right password is refused with 429 and Retry-After; successes do not count', async () => {
    const u = await newUser(srv.url, 'acct');
    const other = await newUser(srv.url, 'acco');
    for (let i = 0; i < 5; i++) expect((await loginFrom('198.51.100.1', u.username, u.password)).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const res = await loginFrom('198.51.100.1', u.username, 'wrong password');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
    }
    const refused = await loginFrom('198.51.100.2', u.username.toUpperCase(), u.password);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'rate_limited', retryable: true });
    // 3 failures per minute: one comes back every 20 s.
    expect(refused.body.retryAfterMs).toBeGreaterThan(19_000);
    expect(refused.body.retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(refused.retryAfter).toBe('20');
    // Other accounts, from the same address, are not affected; existing sessions keep working.
    expect((await loginFrom('198.51.100.1', other.username, other.password)).status).toBe(201);
    expect((await http(srv.url, 'GET', '/v1/me', { token: u.token })).status).toBe(200);
  });

  it('per address: failures across many usernames (existing or not) use up the address', async () => {
    const victim = await newUser(srv.url, 'addr');
    const names = ['nobody_1', 'nobody_2', 'nobody_3', 'nobody_4', victim.username];
    for (const name of names) expect((await loginFrom('203.0.113.50', name, 'not the password')).status).toBe(401);
    const refused = await loginFrom('203.0.113.50', victim.username, victim.password);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    expect((await loginFrom('203.0.113.51', victim.username, victim.password)).status).toBe(201);
  });

  it('a wrong current password on a password change counts as a failed login of the account', async () => {
    const u = await newUser(srv.url, 'pwch');
    const from = { 'x-forwarded-for': '192.0.2.70' };
    for (let i = 0; i < 3; i++) {
      const res = await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, headers: from, body: { currentPassword: 'wrong password', newPassword: 'a new password' } });
      expect(res.body.code).toBe('invalid_credentials');
    }
    const change = await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, headers: from, body: { currentPassword: u.password, newPassword: 'a new password' } });
    expect(change.status).toBe(429);
    expect(change.body.code).toBe('rate_limited');
    expect((await loginFrom('192.0.2.77', u.username, u.password)).status).toBe(429);
  });
});

describe('group operation limits', () => {
  it('refuses group operations past the per-minute allowance; leaving always works; other users are unaffected', async () => {
    const [owner, b, c] = await Promise.all([newUser(srv.url, 'gop'), newUser(srv.url, 'gob'), newUser(srv.url, 'goc')]);
    const created = await http(srv.url, 'POST', '/v1/channels', { token: owner.token, body: { name: 'Ops', memberIds: [b.user.id] } });
    expect(created.status).toBe(201);
    const id = created.body.channel.id as string;
    expect((await http(srv.url, 'PATCH', `/v1/channels/${id}`, { token: owner.token, body: { name: 'Ops 2' } })).status).toBe(200);
    expect((await http(srv.url, 'POST', `/v1/channels/${id}/members`, { token: owner.token, body: { userIds: [c.user.id] } })).status).toBe(200);
    const refused = await http(srv.url, 'PATCH', `/v1/channels/${id}/members/${b.user.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    expect(refused.body.retryAfterMs).toBeGreaterThan(0);
    for (const attempt of [
      http(srv.url, 'POST', '/v1/channels', { token: owner.token, body: { name: 'More', memberIds: [] } }),
      http(srv.url, 'DELETE', `/v1/channels/${id}/members/${c.user.id}`, { token: owner.token }),
    ]) expect((await attempt).body.code).toBe('rate_limited');
    // Nothing was changed by the refused operations.
    const events = (await http(srv.url, 'GET', `/v1/channels/${id}/messages`, { token: owner.token })).body.messages.map((m: { system: { event: string } }) => m.system.event);
    expect(events).toEqual(['created', 'renamed', 'member_added']);
    expect((await http(srv.url, 'POST', '/v1/channels', { token: b.token, body: { name: 'Mine', memberIds: [] } })).status).toBe(201);
    expect((await http(srv.url, 'POST', `/v1/channels/${id}/leave`, { token: owner.token })).status).toBe(204);
  });
});
