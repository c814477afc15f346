import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';

/*
 * Malformed, hostile or nonsensical input over HTTP and WebSocket: every case
 * gets a stable error code (or, for a frame that is not even UTF-8, the
 * standard close), nothing is stored, nothing is polluted, and the server
 * keeps serving.
 */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

async function pair() {
  const a = await newUser(srv.url, 'bi');
  const b = await newUser(srv.url, 'bj');
  const channelId = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id as string;
  return { a, b, channelId };
}

async function stored(token: string, channelId: string): Promise<string[]> {
  return (await http(srv.url, 'GET', `/v1/channels/${channelId}/messages?limit=200`, { token })).body.messages.map((m: { text: string }) => m.text);
}

/** A request with a body of raw bytes. */
async function rawPost(path: string, token: string, bytes: Buffer) {
  const res = await fetch(srv.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: new Uint8Array(bytes) });
  return { status: res.status, body: (await res.json()) as { code: string } };
}

function unpolluted(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
}

describe('HTTP', () => {
  it('refuses bodies that are not UTF-8, not JSON, or not an object, and stores nothing', async () => {
    const { a, channelId } = await pair();
    const path = `/v1/channels/${channelId}/messages`;
    const broken = Buffer.concat([Buffer.from('{"clientId":"u1","text":"a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('b"}')]);
    for (const bytes of [broken, Buffer.from('{"clientId":'), Buffer.from('[]'), Buffer.from('null'), Buffer.from('"text"'), Buffer.from('{"clientId":"u2","text":"x"} trailing'), Buffer.alloc(0)]) {
      const res = await rawPost(path, a.token, bytes);
      expect(res.status, bytes.toString('latin1')).toBe(400);
      expect(res.body.code).toBe('bad_request');
    }
    const signUp = await fetch(`${srv.url}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(Buffer.concat([Buffer.from('{"username":"utf'), Buffer.from([0xc0, 0xaf]), Buffer.from('","password":"long enough","displayName":"x"}')])),
    });
    expect(signUp.status).toBe(400);
    expect(await stored(a.token, channelId)).toEqual([]);
  });

  it('refuses __proto__ and constructor keys and wrong types, and pollutes nothing', async () => {
    const { a, b, channelId } = await pair();
    const path = `/v1/channels/${channelId}/messages`;
    const bodies = [
      '{"clientId":"p1","text":"x","__proto__":{"polluted":true}}',
      '{"clientId":"p2","text":"x","constructor":{"prototype":{"polluted":true}}}',
      '{"clientId":"p3","text":{"toString":"x"}}',
      '{"clientId":["p4"],"text":"x"}',
      '{"clientId":"p 5","text":"x"}',
      `{"clientId":"${'p'.repeat(65)}","text":"x"}`,
      '{"clientId":"p6","text":"x","senderId":"u_someone"}',
    ];
    for (const body of bodies) {
      const res = await rawPost(path, a.token, Buffer.from(body));
      expect(res.body.code, body).toBe('bad_request');
    }
    unpolluted();
    const wrong: [string, string, unknown][] = [
      ['POST', '/v1/channels', { name: 'G', memberIds: 'u_x' }],
      ['POST', '/v1/channels', { name: 7, memberIds: [] }],
      ['POST', '/v1/channels/direct', { userId: 42 }],
      ['POST', '/v1/channels/direct', { userId: '' }],
      ['POST', `/v1/channels/${channelId}/members`, { userIds: [] }],
      ['PATCH', `/v1/channels/${channelId}/members/${b.user.id}`, { role: 'owner' }],
      ['PUT', `/v1/channels/${channelId}/mute`, { mutedUntil: '1' }],
      ['PUT', `/v1/channels/${channelId}/mute`, { mutedUntil: -1 }],
      ['PUT', `/v1/channels/${channelId}/mute`, { mutedUntil: 1.5 }],
      ['POST', '/v1/presence/query', { userIds: [] }],
      ['POST', '/v1/presence/query', { userIds: Array.from({ length: 201 }, (_, i) => `u_${i}`) }],
      ['PATCH', '/v1/me', { displayName: null }],
    ];
    for (const [method, route, body] of wrong) {
      const res = await http(srv.url, method, route, { token: a.token, body });
      expect(res.body.code, `${method} ${route} ${JSON.stringify(body).slice(0, 60)}`).toBe('bad_request');
      expect(res.status).toBe(400);
    }
    expect(await stored(a.token, channelId)).toEqual([]);
  });

  it('refuses negative, huge, fractional and non-numeric seqs and page sizes with bad_request', async () => {
    const { a, channelId } = await pair();
    await http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token: a.token, body: { clientId: 'one', text: 'one' } });
    const history = (q: string) => http(srv.url, 'GET', `/v1/channels/${channelId}/messages?${q}`, { token: a.token });
    for (const q of ['limit=-1', 'limit=0', 'limit=201', 'limit=1e3', 'limit=1e999', 'limit=NaN', 'limit=Infinity', 'limit=1.5', 'limit=', 'limit=0x10', 'limit=%201',
      'before=-1', 'after=-5', 'after=NaN', 'before=1e400', 'after=99999999999999999', 'after=abc', 'limit=10&limit=20']) {
      const res = await history(q);
      expect(res.body.code, q).toBe('bad_request');
      expect(res.status).toBe(400);
    }
    const edge = await history(`after=${Number.MAX_SAFE_INTEGER}&limit=200`);
    expect(edge.status).toBe(200);
    expect(edge.body.messages).toEqual([]);
    for (const q of ['limit=-1', 'limit=0', 'limit=501', 'limit=NaN', 'cursor=abc', 'cursor=-1', 'cursor=99999999999999999999', `cursor=${'9'.repeat(65)}`]) {
      const res = await http(srv.url, 'GET', `/v1/sync?${q}`, { token: a.token });
      expect(res.body.code, q).toBe('bad_request');
    }
    for (const q of ['prefix=ab&limit=0', 'prefix=ab&limit=51', 'prefix=ab&limit=-5', 'prefix=ab&limit=NaN', 'prefix=', `prefix=${'a'.repeat(33)}`]) {
      expect((await http(srv.url, 'GET', `/v1/users?${q}`, { token: a.token })).body.code, q).toBe('bad_request');
    }
  });

  it('answers unknown ids with not-found codes, and over-long ids with bad_request', async () => {
    const { a, channelId } = await pair();
    const cases: [string, string, unknown, string][] = [
      ['GET', '/v1/channels/c_nope', undefined, 'channel_not_found'],
      ['GET', '/v1/channels/c_nope/messages', undefined, 'channel_not_found'],
      ['PUT', '/v1/channels/c_nope/mute', { mutedUntil: null }, 'channel_not_found'],
      ['PATCH', '/v1/channels/c_nope', { name: 'x' }, 'channel_not_found'],
      ['POST', '/v1/channels/c_nope/leave', undefined, 'channel_not_found'],
      ['POST', '/v1/channels/c_nope/messages', { clientId: 'n', text: 'x' }, 'channel_not_found'],
      ['POST', '/v1/channels/direct', { userId: 'u_nope' }, 'user_not_found'],
      ['POST', '/v1/channels', { name: 'G', memberIds: ['u_nope'] }, 'user_not_found'],
      ['POST', `/v1/channels/${channelId}/members`, { userIds: ['u_nope'] }, 'user_not_found'],
      ['PUT', '/v1/blocks/u_nope', undefined, 'user_not_found'],
      ['GET', '/v1/users/u_nope', undefined, 'user_not_found'],
      ['DELETE', '/v1/devices/d_nope', undefined, 'device_not_found'],
      ['GET', `/v1/channels/${'c'.repeat(65)}`, undefined, 'bad_request'],
      ['GET', `/v1/users/${'u'.repeat(65)}`, undefined, 'bad_request'],
      // Ids are printable ASCII: a NUL (which PostgreSQL cannot even compare) or an emoji is no id.
      ['GET', '/v1/channels/%00', undefined, 'bad_request'],
      ['GET', '/v1/channels/%F0%9F%98%80/messages', undefined, 'bad_request'],
      ['POST', '/v1/channels/direct', { userId: 'u_\u0000' }, 'bad_request'],
      ['PUT', '/v1/blocks/u%00x', undefined, 'bad_request'],
      ['GET', '/v1/users?prefix=a%00b', undefined, 'bad_request'],
    ];
    for (const [method, path, body, code] of cases) {
      const res = await http(srv.url, method, path, { token: a.token, body });
      expect(res.body.code, `${method} ${path}`).toBe(code);
    }
    for (const body of [{ username: 'a\u0000b', password: 'whatever1' }, { username: a.username, password: 'correct horse battery', deviceName: 'phone\u0000' }]) {
      expect((await http(srv.url, 'POST', '/v1/sessions', { body })).body.code).toBe('bad_request');
    }
    expect(await stored(a.token, channelId)).toEqual([]);
  });

  it('refuses the same client id with other text (409 idempotency_conflict) on either transport and keeps the original', async () => {
    const { a, channelId } = await pair();
    const path = `/v1/channels/${channelId}/messages`;
    expect((await http(srv.url, 'POST', path, { token: a.token, body: { clientId: 'dup', text: 'original' } })).status).toBe(201);
    const conflict = await http(srv.url, 'POST', path, { token: a.token, body: { clientId: 'dup', text: 'changed' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: 'idempotency_conflict', retryable: false });
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'dup', channelId, text: 'changed again' });
    expect(await s.next('error', (f) => f.id === 'dup')).toMatchObject({ code: 'idempotency_conflict' });
    s.send({ type: 'send', id: 'dup', channelId, text: 'original' });
    expect(await s.next('ack', (f) => f.id === 'dup')).toMatchObject({ seq: 1, duplicate: true });
    await s.close();
    expect(await stored(a.token, channelId)).toEqual(['original']);
  });
});

describe('WebSocket', () => {
  it('closes a socket that sends a text frame that is not UTF-8 (1007), storing nothing; other sockets carry on', async () => {
    const { a, b, channelId } = await pair();
    const bad = await RawSocket.open(srv.url, a.token);
    const other = await RawSocket.open(srv.url, b.token);
    bad.ws.send(Buffer.concat([Buffer.from(`{"type":"send","id":"u8","channelId":"${channelId}","text":"a`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), { binary: false });
    expect(await bad.closed).toBe(1007);
    other.send({ type: 'send', id: 'fine', channelId, text: 'still fine' });
    expect((await other.next('ack', (f) => f.id === 'fine')).seq).toBe(1);
    expect(await stored(a.token, channelId)).toEqual(['still fine']);
    await other.close();
  });

  it('answers hostile keys, wrong types and impossible seqs with bad_request and keeps the connection', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    const frames = [
      `{"type":"read","channelId":"${channelId}","seq":1,"ref":"p1","__proto__":{"polluted":true}}`,
      `{"type":"typing","channelId":"${channelId}","ref":"p2","constructor":{"prototype":{"polluted":true}}}`,
      `{"type":"read","channelId":"${channelId}","seq":"5","ref":"s1"}`,
      `{"type":"read","channelId":"${channelId}","seq":1.5,"ref":"s2"}`,
      `{"type":"read","channelId":"${channelId}","seq":-1,"ref":"s3"}`,
      `{"type":"read","channelId":"${channelId}","seq":1e300,"ref":"s4"}`,
      `{"type":"delivered","channelId":"${channelId}","seq":9007199254740992,"ref":"s5"}`,
      `{"type":"delivered","channelId":"${channelId}","seq":null,"ref":"s6"}`,
      `{"type":"read","channelId":42,"seq":1,"ref":"s7"}`,
      `{"type":"typing","channelId":"","ref":"s8"}`,
      `{"type":"ping","t":"now","ref":"s9"}`,
    ];
    for (const f of frames) s.send(f);
    for (const ref of ['p1', 'p2', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']) {
      expect(await s.next('error', (f) => f.ref === ref), ref).toMatchObject({ code: 'bad_request' });
    }
    s.send(`{"type":"read","channelId":"${channelId}","seq":NaN}`);
    expect((await s.next('error')).code).toBe('bad_request');
    for (const f of [
      { type: 'send', id: 'nulchannel', channelId: 'c_\u0000', text: 'x' },
      { type: 'send', id: 'x'.repeat(65), channelId, text: 'x' },
      { type: 'send', id: 'has space', channelId, text: 'x' },
      { type: 'send', id: 'nul', channelId, text: ['x'] },
      { type: 'send', id: 'extra', channelId, text: 'x', constructor: 'x' },
    ]) {
      s.send(f);
      expect((await s.next('error')).code, JSON.stringify(f).slice(0, 50)).toBe('bad_request');
    }
    unpolluted();
    s.send({ type: 'ping', t: 5 });
    expect((await s.next('pong')).t).toBe(5);
    expect(await stored(a.token, channelId)).toEqual([]);
    await s.close();
  });

  it('answers unknown channels, and clamps a far-future read to the channel\'s end', async () => {
    const { a, b, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'nowhere', channelId: 'c_nope', text: 'x' });
    expect((await s.next('error', (f) => f.id === 'nowhere')).code).toBe('channel_not_found');
    for (const [type, ref] of [['read', 'r'], ['delivered', 'd'], ['typing', 't']] as const) {
      s.send({ type, channelId: 'c_nope', ref, ...(type !== 'typing' && { seq: 1 }) });
      expect((await s.next('error', (f) => f.ref === ref)).code).toBe('not_member');
    }
    s.send({ type: 'send', id: 'one', channelId, text: 'one' });
    await s.next('ack', (f) => f.id === 'one');
    s.send({ type: 'read', channelId, seq: Number.MAX_SAFE_INTEGER });
    await sleep(150);
    const ch = (await http(srv.url, 'GET', `/v1/channels/${channelId}`, { token: b.token })).body.channel;
    expect(ch.members.find((m: { userId: string }) => m.userId === a.user.id)).toMatchObject({ readSeq: 1, deliveredSeq: 1 });
    await s.close();
    expect((await http(srv.url, 'GET', '/healthz', {})).status).toBe(200);
  });
});
