import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';

/*
 * Every read and action is authorized from current membership (a former
 * member keeps read access up to their removal, nothing more), and the sender
 * of a message is always the session's user. Push previews follow the same
 * rule and are covered by the PushService tests.
 */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

const call = (method: string, path: string, token: string, body?: unknown) => http(srv.url, method, path, { token, body });

async function club() {
  const [owner, member, gone, outsider] = await Promise.all([newUser(srv.url, 'az'), newUser(srv.url, 'am'), newUser(srv.url, 'ag'), newUser(srv.url, 'ao')]);
  const id = (await call('POST', '/v1/channels', owner.token, { name: 'Club', memberIds: [member.user.id, gone.user.id] })).body.channel.id as string;
  return { owner, member, gone, outsider, id };
}

describe('authorization from current membership', () => {
  it('a former member: sync says left with the bounded head; history stops at the removal in every direction; no sends, receipts, typing or mute', async () => {
    const { owner, gone, id } = await club();
    const cursor = (await call('GET', '/v1/sync', gone.token)).body.cursor;
    await call('POST', `/v1/channels/${id}/messages`, owner.token, { clientId: 'b', text: 'before' });
    const removed = await call('DELETE', `/v1/channels/${id}/members/${gone.user.id}`, owner.token);
    const removalSeq = removed.body.channel.lastSeq as number;
    await call('POST', `/v1/channels/${id}/messages`, owner.token, { clientId: 'a', text: 'after' });

    const sync = await call('GET', `/v1/sync?cursor=${cursor}`, gone.token);
    expect(sync.body.channels).toEqual([expect.objectContaining({ channelId: id, left: true, lastSeq: removalSeq })]);
    for (const query of ['', '?limit=200', `?before=${removalSeq + 100}`, `?after=${removalSeq - 1}`, `?after=0&before=999999`]) {
      const page = await call('GET', `/v1/channels/${id}/messages${query}`, gone.token);
      expect(page.status).toBe(200);
      expect(page.body.messages.map((m: { text: string }) => m.text)).not.toContain('after');
      expect(Math.max(...page.body.messages.map((m: { seq: number }) => m.seq))).toBeLessThanOrEqual(removalSeq);
    }

    const post = await call('POST', `/v1/channels/${id}/messages`, gone.token, { clientId: 'x', text: 'let me in' });
    expect(post.status).toBe(403);
    expect(post.body.code).toBe('not_member');
    expect((await call('PUT', `/v1/channels/${id}/mute`, gone.token, { mutedUntil: null })).body.code).toBe('not_member');
    expect((await call('POST', `/v1/channels/${id}/members`, gone.token, { userIds: [gone.user.id] })).body.code).toBe('not_member');
    const s = await RawSocket.open(srv.url, gone.token);
    s.send({ type: 'read', channelId: id, seq: 999, ref: 'r' });
    expect(await s.next('error', (f) => f.ref === 'r')).toMatchObject({ code: 'not_member' });
    s.send({ type: 'delivered', channelId: id, seq: 1, ref: 'd' });
    expect(await s.next('error', (f) => f.ref === 'd')).toMatchObject({ code: 'not_member' });
    s.send({ type: 'typing', channelId: id, ref: 't' });
    expect(await s.next('error', (f) => f.ref === 't')).toMatchObject({ code: 'not_member' });
    await s.close();
    expect((await call('GET', `/v1/channels/${id}/messages`, owner.token)).body.messages.map((m: { text: string }) => m.text)).not.toContain('let me in');
  });

  it('an outsider can neither see nor change a group, and never learns of it through sync or the channel list', async () => {
    const { owner, member, outsider, id } = await club();
    const cursor = (await call('GET', '/v1/sync', outsider.token)).body.cursor;
    await call('POST', `/v1/channels/${id}/messages`, owner.token, { clientId: 'm', text: 'members only' });
    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/channels/${id}`],
      ['GET', `/v1/channels/${id}/messages`],
      ['PATCH', `/v1/channels/${id}`, { name: 'Mine now' }],
      ['POST', `/v1/channels/${id}/members`, { userIds: [outsider.user.id] }],
      ['DELETE', `/v1/channels/${id}/members/${member.user.id}`],
      ['PATCH', `/v1/channels/${id}/members/${member.user.id}`, { role: 'admin' }],
      ['PUT', `/v1/channels/${id}/mute`, { mutedUntil: null }],
      ['POST', `/v1/channels/${id}/leave`],
      ['POST', `/v1/channels/${id}/messages`, { clientId: 'o', text: 'hi' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(method, path, outsider.token, body);
      expect(res.body.code, `${method} ${path}`).toBe('not_member');
      expect(res.status).toBe(403);
    }
    expect((await call('GET', `/v1/sync?cursor=${cursor}`, outsider.token)).body.channels).toEqual([]);
    expect((await call('GET', '/v1/channels', outsider.token)).body.channels).toEqual([]);
    const detail = await call('GET', `/v1/channels/${id}`, owner.token);
    expect(detail.body.channel).toMatchObject({ name: 'Club', memberCount: 3 });
    expect(detail.body.channel.members.map((m: { role: string }) => m.role).sort()).toEqual(['member', 'member', 'owner']);
  });

  it('the sender is always the session\'s user: a claimed sender is refused on both transports', async () => {
    const { owner, member, id } = await club();
    const forged = await call('POST', `/v1/channels/${id}/messages`, member.token, { clientId: 'f', text: 'I am the owner', senderId: owner.user.id });
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('bad_request');
    const s = await RawSocket.open(srv.url, member.token);
    s.send({ type: 'send', id: 'f2', channelId: id, text: 'me too', senderId: owner.user.id });
    expect(await s.next('error', (f) => f.id === 'f2')).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'send', id: 'ok', channelId: id, text: 'honest' });
    await s.next('ack', (f) => f.id === 'ok');
    await sleep(20);
    const messages = (await call('GET', `/v1/channels/${id}/messages`, owner.token)).body.messages.filter((m: { kind: string }) => m.kind === 'text');
    expect(messages.map((m: { senderId: string; text: string }) => [m.senderId, m.text])).toEqual([[member.user.id, 'honest']]);
    await s.close();
  });

  it('presence is only for contacts, and a stranger cannot make someone a contact by naming them', async () => {
    const { owner, member, outsider } = await club();
    const query = (token: string, ids: string[]) => call('POST', '/v1/presence/query', token, { userIds: ids });
    expect((await query(owner.token, [member.user.id, outsider.user.id])).body.presence.map((p: { userId: string }) => p.userId)).toEqual([member.user.id]);
    expect((await query(outsider.token, [owner.user.id, member.user.id])).body.presence).toEqual([]);
  });
});
