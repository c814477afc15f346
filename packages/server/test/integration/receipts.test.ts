import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

describe('delivered and read watermarks', () => {
  it('shows sent → delivered → read to the sender, shares read state across the reader\'s devices, and counts unread', async () => {
    const a = await newUser(srv.url, 'ra');
    const b = await newUser(srv.url, 'rb');
    const bPhone = await login(srv.url, b.username, b.password, 'phone');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sa = await RawSocket.open(srv.url, a.token);
    const sb = await RawSocket.open(srv.url, b.token);
    const sbPhone = await RawSocket.open(srv.url, bPhone.token);
    for (let i = 1; i <= 3; i++) sa.send({ type: 'send', id: `m${i}`, channelId: ch, text: `message ${i}` });
    await sa.next('ack', (f) => f.id === 'm3');

    const listB = await http(srv.url, 'GET', '/v1/channels', { token: b.token });
    expect(listB.body.channels[0]).toMatchObject({ id: ch, lastSeq: 3, readSeq: 0, unreadCount: 3, lastMessage: { seq: 3, text: 'message 3' } });
    const listA = await http(srv.url, 'GET', '/v1/channels', { token: a.token });
    expect(listA.body.channels[0]).toMatchObject({ id: ch, unreadCount: 0, readSeq: 3 });

    sb.send({ type: 'delivered', channelId: ch, seq: 3 });
    const delivered = await sa.next('receipts', (f) => f.receipts.some((r) => r.userId === b.user.id && r.deliveredSeq === 3));
    expect(delivered.receipts.find((r) => r.userId === b.user.id)).toEqual({ userId: b.user.id, deliveredSeq: 3, readSeq: 0 });

    sbPhone.send({ type: 'read', channelId: ch, seq: 2 });
    const read = await sa.next('receipts', (f) => f.receipts.some((r) => r.userId === b.user.id && r.readSeq === 2));
    expect(read.channelId).toBe(ch);
    // The reader's other device learns the shared watermark live.
    await sb.next('receipts', (f) => f.receipts.some((r) => r.userId === b.user.id && r.readSeq === 2));
    expect((await http(srv.url, 'GET', '/v1/channels', { token: b.token })).body.channels[0]).toMatchObject({ readSeq: 2, unreadCount: 1 });

    // Watermarks never go down and never pass the channel's end.
    sb.send({ type: 'read', channelId: ch, seq: 1 });
    sb.send({ type: 'read', channelId: ch, seq: 999 });
    await sa.next('receipts', (f) => f.receipts.some((r) => r.userId === b.user.id && r.readSeq === 3));
    const detail = await http(srv.url, 'GET', `/v1/channels/${ch}`, { token: a.token });
    expect(detail.body.channel.members.find((m: { userId: string }) => m.userId === b.user.id)).toMatchObject({ deliveredSeq: 3, readSeq: 3 });
    await Promise.all([sa.close(), sb.close(), sbPhone.close()]);
  });

  it('lists channels newest activity first with the last message', async () => {
    const a = await newUser(srv.url, 'la');
    const b = await newUser(srv.url, 'lb');
    const c = await newUser(srv.url, 'lc');
    const ab = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const ac = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: c.user.id } })).body.channel.id;
    await http(srv.url, 'POST', `/v1/channels/${ac}/messages`, { token: a.token, body: { clientId: '1', text: 'to c' } });
    await new Promise((r) => setTimeout(r, 5));
    await http(srv.url, 'POST', `/v1/channels/${ab}/messages`, { token: b.token, body: { clientId: '1', text: 'to a' } });
    const list = (await http(srv.url, 'GET', '/v1/channels', { token: a.token })).body.channels;
    expect(list.map((c: { id: string }) => c.id)).toEqual([ab, ac]);
    expect(list[0]).toMatchObject({ unreadCount: 1, peer: { id: b.user.id }, lastMessage: { text: 'to a' } });
  });
});
