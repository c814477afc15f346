import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ heartbeatMs: 200, presenceTimeoutMs: 2_000 });
});
afterAll(() => srv.stop());

const call = (method: string, path: string, token: string, body?: unknown) => http(srv.url, method, path, { token, body });

async function pair() {
  const a = await newUser(srv.url, 'blk');
  const b = await newUser(srv.url, 'bld');
  const channelId = (await call('POST', '/v1/channels/direct', a.token, { userId: b.user.id })).body.channel.id as string;
  return { a, b, channelId };
}

async function texts(token: string, channelId: string): Promise<string[]> {
  return (await call('GET', `/v1/channels/${channelId}/messages`, token)).body.messages.map((m: { text: string }) => m.text);
}

describe('blocking', () => {
  it('blocks, lists and unblocks; blocking twice is one block; yourself and unknown users are refused', async () => {
    const { a, b } = await pair();
    const c = await newUser(srv.url, 'blc');
    expect((await call('PUT', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    expect((await call('PUT', `/v1/blocks/${c.user.id}`, a.token)).status).toBe(204);
    expect((await call('PUT', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    const list = await call('GET', '/v1/blocks', a.token);
    expect(list.body.blocks.map((x: { user: { id: string } }) => x.user.id)).toEqual([c.user.id, b.user.id]);
    expect(list.body.blocks[0]).toMatchObject({ user: c.user, blockedAt: expect.any(Number) });
    expect((await call('GET', '/v1/blocks', b.token)).body.blocks).toEqual([]);

    const self = await call('PUT', `/v1/blocks/${a.user.id}`, a.token);
    expect(self.status).toBe(400);
    expect(self.body.code).toBe('bad_request');
    expect((await call('PUT', '/v1/blocks/u_nobody', a.token)).body.code).toBe('user_not_found');
    expect((await http(srv.url, 'GET', '/v1/blocks')).body.code).toBe('unauthorized');

    expect((await call('DELETE', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    expect((await call('DELETE', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    expect((await call('GET', '/v1/blocks', a.token)).body.blocks.map((x: { user: { id: string } }) => x.user.id)).toEqual([c.user.id]);
  });

  it('refuses 1:1 messages either way with `blocked`, over WebSocket and HTTP, and stores nothing; unblocking lets them through again', async () => {
    const { a, b, channelId } = await pair();
    const sa = await RawSocket.open(srv.url, a.token);
    const sb = await RawSocket.open(srv.url, b.token);
    sb.send({ type: 'send', id: 'before', channelId, text: 'before the block' });
    await sb.next('ack', (f) => f.id === 'before');
    await sa.next('message');

    expect((await call('PUT', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    sb.send({ type: 'send', id: 'after', channelId, text: 'after the block' });
    expect(await sb.next('error', (f) => f.id === 'after')).toMatchObject({ code: 'blocked', retryable: false });
    const viaHttp = await call('POST', `/v1/channels/${channelId}/messages`, b.token, { clientId: 'h1', text: 'over http' });
    expect(viaHttp.status).toBe(403);
    expect(viaHttp.body.code).toBe('blocked');
    // The blocker cannot write into the frozen conversation either.
    sa.send({ type: 'send', id: 'mine', channelId, text: 'from the blocker' });
    expect((await sa.next('error', (f) => f.id === 'mine')).code).toBe('blocked');
    // A retry of a send committed before the block still gets its original ack.
    sb.send({ type: 'send', id: 'before', channelId, text: 'before the block' });
    expect(await sb.next('ack', (f) => f.id === 'before')).toMatchObject({ seq: 1, duplicate: true });

    await sleep(100);
    expect(sa.frames.filter((f) => f.type === 'message')).toEqual([]);
    expect(await texts(a.token, channelId)).toEqual(['before the block']);
    // History stays readable for both.
    expect(await texts(b.token, channelId)).toEqual(['before the block']);

    expect((await call('DELETE', `/v1/blocks/${b.user.id}`, a.token)).status).toBe(204);
    sb.send({ type: 'send', id: 'again', channelId, text: 'after the unblock' });
    expect((await sb.next('ack', (f) => f.id === 'again')).seq).toBe(2);
    expect((await sa.next('message')).message.text).toBe('after the unblock');
    await Promise.all([sa.close(), sb.close()]);
  });

  it('a blocked user cannot open a new direct channel with the blocker; an existing one still opens; groups are unaffected', async () => {
    const [a, b, c] = await Promise.all([newUser(srv.url, 'bla'), newUser(srv.url, 'blb'), newUser(srv.url, 'blo')]);
    const existing = (await call('POST', '/v1/channels/direct', c.token, { userId: a.user.id })).body.channel.id;
    await call('PUT', `/v1/blocks/${b.user.id}`, a.token);
    await call('PUT', `/v1/blocks/${c.user.id}`, a.token);
    for (const [from, to] of [[b, a], [a, b]] as const) {
      const open = await call('POST', '/v1/channels/direct', from.token, { userId: to.user.id });
      expect(open.status).toBe(403);
      expect(open.body.code).toBe('blocked');
    }
    expect((await call('GET', '/v1/channels', b.token)).body.channels).toEqual([]);
    const reopened = await call('POST', '/v1/channels/direct', c.token, { userId: a.user.id });
    expect(reopened.status).toBe(200);
    expect(reopened.body.channel.id).toBe(existing);

    // In a group the two still meet and talk.
    const group = (await call('POST', '/v1/channels', b.token, { name: 'Both', memberIds: [a.user.id] })).body.channel.id;
    const sent = await call('POST', `/v1/channels/${group}/messages`, b.token, { clientId: 'g1', text: 'hello group' });
    expect(sent.status).toBe(201);
    expect(await texts(a.token, group)).toContain('hello group');
  });

  it('hides presence between the two, both live and when queried', async () => {
    const { a, b } = await pair();
    const sa = await RawSocket.open(srv.url, a.token);
    const beat = setInterval(() => sa.send({ type: 'ping' }), 200);
    try {
      const sb1 = await RawSocket.open(srv.url, b.token);
      await sa.next('presence', (f) => f.userId === b.user.id && f.online);
      await sb1.close();
      await sa.next('presence', (f) => f.userId === b.user.id && !f.online);

      await call('PUT', `/v1/blocks/${b.user.id}`, a.token);
      const sb2 = await RawSocket.open(srv.url, b.token);
      const query = (token: string, id: string) => call('POST', '/v1/presence/query', token, { userIds: [id] });
      expect((await query(a.token, b.user.id)).body.presence).toEqual([]);
      expect((await query(b.token, a.user.id)).body.presence).toEqual([]);
      await sb2.close();
      await sleep(300);
      expect(sa.frames.filter((f) => f.type === 'presence')).toEqual([]);

      await call('DELETE', `/v1/blocks/${b.user.id}`, a.token);
      expect((await query(a.token, b.user.id)).body.presence).toHaveLength(1);
    } finally {
      clearInterval(beat);
      await sa.close();
    }
  });
});
