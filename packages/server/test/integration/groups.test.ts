import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

const call = (method: string, path: string, token: string, body?: unknown) => http(srv.url, method, path, { token, body });

describe('groups', () => {
  it('creates a group with a name and members; everyone sees the created event as seq 1', async () => {
    const [owner, b, c] = await Promise.all([newUser(srv.url, 'owner'), newUser(srv.url, 'bee'), newUser(srv.url, 'cee')]);
    const sc = await RawSocket.open(srv.url, c.token);
    const res = await call('POST', '/v1/channels', owner.token, { name: ' Trip ', memberIds: [b.user.id, c.user.id, owner.user.id] });
    expect(res.status).toBe(201);
    const ch = res.body.channel;
    expect(ch).toMatchObject({ kind: 'group', name: 'Trip', memberCount: 3, lastSeq: 1, role: 'owner' });
    expect(ch.members.map((m: { userId: string; role: string }) => [m.userId, m.role]).sort()).toEqual(
      [[owner.user.id, 'owner'], [b.user.id, 'member'], [c.user.id, 'member']].sort(),
    );
    const created = await sc.next('message');
    expect(created.message).toMatchObject({ channelId: ch.id, seq: 1, kind: 'system', system: { event: 'created', actorId: owner.user.id } });
    await sc.close();
  });

  it('enforces roles: members cannot add, remove or rename; admins can add and remove members but not admins; the owner sets roles', async () => {
    const [owner, adm, m1, m2, extra] = await Promise.all([newUser(srv.url, 'own'), newUser(srv.url, 'adm'), newUser(srv.url, 'mem'), newUser(srv.url, 'mem'), newUser(srv.url, 'ext')]);
    const id = (await call('POST', '/v1/channels', owner.token, { name: 'Roles', memberIds: [adm.user.id, m1.user.id, m2.user.id] })).body.channel.id;
    expect((await call('POST', `/v1/channels/${id}/members`, m1.token, { userIds: [extra.user.id] })).body.code).toBe('forbidden');
    expect((await call('PATCH', `/v1/channels/${id}`, m1.token, { name: 'Mine' })).body.code).toBe('forbidden');
    expect((await call('DELETE', `/v1/channels/${id}/members/${m2.user.id}`, m1.token)).body.code).toBe('forbidden');
    expect((await call('PATCH', `/v1/channels/${id}/members/${adm.user.id}`, m1.token, { role: 'admin' })).body.code).toBe('forbidden');

    const promoted = await call('PATCH', `/v1/channels/${id}/members/${adm.user.id}`, owner.token, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.channel.members.find((m: { userId: string }) => m.userId === adm.user.id).role).toBe('admin');
    expect((await call('POST', `/v1/channels/${id}/members`, adm.token, { userIds: [extra.user.id] })).status).toBe(200);
    expect((await call('PATCH', `/v1/channels/${id}`, adm.token, { name: 'Renamed' })).body.channel.name).toBe('Renamed');
    expect((await call('DELETE', `/v1/channels/${id}/members/${owner.user.id}`, adm.token)).body.code).toBe('forbidden');
    expect((await call('PATCH', `/v1/channels/${id}/members/${m1.user.id}`, adm.token, { role: 'admin' })).body.code).toBe('forbidden');
    const removed = await call('DELETE', `/v1/channels/${id}/members/${m2.user.id}`, adm.token);
    expect(removed.status).toBe(200);
    expect(removed.body.channel.memberCount).toBe(4);
    expect((await call('POST', `/v1/channels/${id}/members`, owner.token, { userIds: [m1.user.id] })).body.code).toBe('already_member');

    const hist = await call('GET', `/v1/channels/${id}/messages`, owner.token);
    expect(hist.body.messages.map((m: { system: { event: string } }) => m.system.event)).toEqual([
      'created', 'role_changed', 'member_added', 'renamed', 'member_removed',
    ]);
    expect(hist.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses the 101st member, at creation and when adding', async () => {
    const owner = await newUser(srv.url, 'big');
    const others = [];
    for (let i = 0; i < 100; i++) others.push(await newUser(srv.url, `p${i}_`));
    const tooMany = await call('POST', '/v1/channels', owner.token, { name: 'Too big', memberIds: others.map((u) => u.user.id) });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe('group_full');
    const full = await call('POST', '/v1/channels', owner.token, { name: 'Full', memberIds: others.slice(0, 99).map((u) => u.user.id) });
    expect(full.status).toBe(201);
    expect(full.body.channel.memberCount).toBe(100);
    const id = full.body.channel.id;
    const add = await call('POST', `/v1/channels/${id}/members`, owner.token, { userIds: [others[99]!.user.id] });
    expect(add.status).toBe(409);
    expect(add.body.code).toBe('group_full');
    expect((await call('GET', `/v1/channels/${id}`, owner.token)).body.channel.memberCount).toBe(100);
    expect((await call('GET', `/v1/channels/${id}/messages`, owner.token)).body.messages).toHaveLength(1);
  });

  it('honours a configured member limit', async () => {
    const small = await (await import('../support/server.js')).startServer({ maxGroupMembers: 3 });
    try {
      const [o, a, b, c] = await Promise.all([newUser(small.url, 'limo'), newUser(small.url, 'lima'), newUser(small.url, 'limb'), newUser(small.url, 'limc')]);
      const ok = await http(small.url, 'POST', '/v1/channels', { token: o.token, body: { name: 'Three', memberIds: [a.user.id, b.user.id] } });
      expect(ok.status).toBe(201);
      const refused = await http(small.url, 'POST', `/v1/channels/${ok.body.channel.id}/members`, { token: o.token, body: { userIds: [c.user.id] } });
      expect(refused.body.code).toBe('group_full');
    } finally {
      await small.stop();
    }
  });

  it('a removed member receives nothing new and cannot read past the removal; others go on', async () => {
    const [owner, stay, gone] = await Promise.all([newUser(srv.url, 'own'), newUser(srv.url, 'stay'), newUser(srv.url, 'gone')]);
    const id = (await call('POST', '/v1/channels', owner.token, { name: 'Club', memberIds: [stay.user.id, gone.user.id] })).body.channel.id;
    const so = await RawSocket.open(srv.url, owner.token);
    const sg = await RawSocket.open(srv.url, gone.token);
    so.send({ type: 'send', id: 'before', channelId: id, text: 'before removal' });
    await sg.next('message', (f) => f.message.text === 'before removal');
    expect((await call('DELETE', `/v1/channels/${id}/members/${gone.user.id}`, owner.token)).status).toBe(200);
    const removal = await sg.next('message', (f) => f.message.kind === 'system' && f.message.system?.event === 'member_removed');
    so.send({ type: 'send', id: 'after', channelId: id, text: 'after removal' });
    await so.next('ack', (f) => f.id === 'after');
    await new Promise((r) => setTimeout(r, 100));
    expect(sg.frames.filter((f) => f.type === 'message')).toHaveLength(0);

    const hist = await call('GET', `/v1/channels/${id}/messages`, gone.token);
    expect(hist.status).toBe(200);
    expect(hist.body.messages.at(-1).seq).toBe(removal.message.seq);
    expect(hist.body.messages.map((m: { text: string }) => m.text)).not.toContain('after removal');
    expect((await call('GET', `/v1/channels/${id}/messages?after=${removal.message.seq}`, gone.token)).body.messages).toEqual([]);
    sg.send({ type: 'send', id: 'sneak', channelId: id, text: 'let me back' });
    expect((await sg.next('error')).code).toBe('not_member');
    expect((await call('GET', `/v1/channels/${id}`, gone.token)).body.code).toBe('not_member');
    const list = await call('GET', '/v1/channels', gone.token);
    expect(list.body.channels.find((c: { id: string }) => c.id === id)).toMatchObject({ left: true, lastSeq: removal.message.seq });
    await Promise.all([so.close(), sg.close()]);
  });

  it('leaving hands ownership on; direct channels cannot change membership', async () => {
    const [owner, adm, mem] = await Promise.all([newUser(srv.url, 'lo'), newUser(srv.url, 'la'), newUser(srv.url, 'lm')]);
    const id = (await call('POST', '/v1/channels', owner.token, { name: 'Heirs', memberIds: [mem.user.id, adm.user.id] })).body.channel.id;
    await call('PATCH', `/v1/channels/${id}/members/${adm.user.id}`, owner.token, { role: 'admin' });
    expect((await call('POST', `/v1/channels/${id}/leave`, owner.token)).status).toBe(204);
    const detail = await call('GET', `/v1/channels/${id}`, adm.token);
    expect(detail.body.channel.members.find((m: { userId: string }) => m.userId === adm.user.id).role).toBe('owner');
    expect(detail.body.channel.memberCount).toBe(2);
    const last = await call('GET', `/v1/channels/${id}/messages?limit=1`, mem.token);
    expect(last.body.messages[0].system).toMatchObject({ event: 'member_left', actorId: owner.user.id });

    const dm = (await call('POST', '/v1/channels/direct', owner.token, { userId: mem.user.id })).body.channel.id;
    expect((await call('POST', `/v1/channels/${dm}/leave`, owner.token)).body.code).toBe('not_allowed_in_direct');
    expect((await call('POST', `/v1/channels/${dm}/members`, owner.token, { userIds: [adm.user.id] })).body.code).toBe('not_allowed_in_direct');
  });

  it('refuses groups with unknown users or bad names', async () => {
    const a = await newUser(srv.url, 'gn');
    expect((await call('POST', '/v1/channels', a.token, { name: 'X', memberIds: ['u_nobody'] })).body.code).toBe('user_not_found');
    expect((await call('POST', '/v1/channels', a.token, { name: '  ', memberIds: [] })).body.code).toBe('invalid_name');
  });
});
