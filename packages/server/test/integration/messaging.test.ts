import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, MAX_FRAME_BYTES } from '@confab/protocol';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

async function pair() {
  const a = await newUser(srv.url, 'ann');
  const b = await newUser(srv.url, 'ben');
  const open = await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } });
  expect(open.status).toBe(201);
  return { a, b, channelId: open.body.channel.id as string };
}

async function historyOf(token: string, channelId: string, query = '') {
  return http(srv.url, 'GET', `/v1/channels/${channelId}/messages${query}`, { token });
}

describe('1:1 channels', () => {
  it('opening a direct channel twice, from either side, gives the same channel', async () => {
    const { a, b, channelId } = await pair();
    const again = await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } });
    expect(again.status).toBe(200);
    expect(again.body.channel.id).toBe(channelId);
    const fromB = await http(srv.url, 'POST', '/v1/channels/direct', { token: b.token, body: { userId: a.user.id } });
    expect(fromB.body.channel.id).toBe(channelId);
    expect(fromB.body.channel).toMatchObject({ kind: 'direct', memberCount: 2, lastSeq: 0, peer: { id: a.user.id } });
  });

  it('refuses a direct channel with a user who does not exist', async () => {
    const a = await newUser(srv.url, 'lonely');
    const res = await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: 'u_doesnotexist' } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('user_not_found');
  });

  it('delivers a message to the recipient and the sender\'s other devices, acked with seq 1, 2, ...', async () => {
    const { a, b, channelId } = await pair();
    const sa = await RawSocket.open(srv.url, a.token);
    const sb = await RawSocket.open(srv.url, b.token);
    sa.send({ type: 'send', id: 'm1', channelId, text: 'hello' });
    const ack = await sa.next('ack');
    expect(ack).toMatchObject({ id: 'm1', channelId, seq: 1, duplicate: false });
    const got = await sb.next('message');
    expect(got.message).toMatchObject({ channelId, seq: 1, senderId: a.user.id, clientId: 'm1', kind: 'text', text: 'hello' });
    expect((await sa.next('message')).message.seq).toBe(1);
    sb.send({ type: 'send', id: 'r1', channelId, text: 'hi back' });
    expect((await sb.next('ack')).seq).toBe(2);
    expect((await sa.next('message')).message).toMatchObject({ seq: 2, text: 'hi back', senderId: b.user.id });
    await Promise.all([sa.close(), sb.close()]);
  });

  it('a retried send returns the original ack and stores one message; other text under the same id is refused', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'same-id', channelId, text: 'once' });
    const first = await s.next('ack');
    s.send({ type: 'send', id: 'same-id', channelId, text: 'once' });
    const second = await s.next('ack');
    expect(second).toMatchObject({ seq: first.seq, createdAt: first.createdAt, duplicate: true });
    s.send({ type: 'send', id: 'same-id', channelId, text: 'different' });
    const err = await s.next('error');
    expect(err).toMatchObject({ code: 'idempotency_conflict', id: 'same-id', retryable: false });
    // Two copies in flight at once are still one message.
    s.send({ type: 'send', id: 'twin', channelId, text: 'twin' });
    s.send({ type: 'send', id: 'twin', channelId, text: 'twin' });
    const [t1, t2] = [await s.next('ack', (f) => f.id === 'twin'), await s.next('ack', (f) => f.id === 'twin')];
    expect(t1.seq).toBe(t2.seq);
    expect([t1.duplicate, t2.duplicate].sort()).toEqual([false, true]);
    const hist = await historyOf(a.token, channelId);
    expect(hist.body.messages.map((m: { text: string }) => m.text)).toEqual(['once', 'twin']);
    // The same id over HTTP from the same device is the same send.
    const viaHttp = await http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token: a.token, body: { clientId: 'same-id', text: 'once' } });
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body).toMatchObject({ seq: first.seq, duplicate: true });
    await s.close();
  });

  it('accepts 100,000 code points (astral ones count once) and refuses 100,001 with nothing stored', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'max', channelId, text: 'x'.repeat(100_000) });
    expect((await s.next('ack')).seq).toBe(1);
    s.send({ type: 'send', id: 'emoji', channelId, text: '😀'.repeat(100_000) });
    expect((await s.next('ack', (f) => f.id === 'emoji')).seq).toBe(2);
    s.send({ type: 'send', id: 'over', channelId, text: 'x'.repeat(100_001) });
    expect(await s.next('error', (f) => f.id === 'over')).toMatchObject({ code: 'message_too_long', retryable: false });
    s.send({ type: 'send', id: 'over2', channelId, text: '😀'.repeat(100_001) });
    expect((await s.next('error', (f) => f.id === 'over2')).code).toBe('message_too_long');
    s.send({ type: 'send', id: 'empty', channelId, text: '' });
    expect((await s.next('error', (f) => f.id === 'empty')).code).toBe('message_empty');
    s.send({ type: 'send', id: 'nul', channelId, text: 'a\u0000b' });
    expect((await s.next('error', (f) => f.id === 'nul')).code).toBe('invalid_text');
    s.send('{"type":"send","id":"lone","channelId":"' + channelId + '","text":"\\ud800"}');
    expect((await s.next('error', (f) => f.id === 'lone')).code).toBe('invalid_text');
    // The worst legal escaping (control characters) still fits in one frame.
    s.send({ type: 'send', id: 'ctl', channelId, text: '\u0001'.repeat(100_000) });
    expect((await s.next('ack', (f) => f.id === 'ctl')).seq).toBe(3);
    const hist = await historyOf(a.token, channelId);
    expect(hist.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
    expect(hist.body.messages[1].text).toBe('😀'.repeat(100_000));
    const overHttp = await http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token: a.token, body: { clientId: 'h-over', text: 'y'.repeat(100_001) } });
    expect(overHttp.status).toBe(400);
    expect(overHttp.body.code).toBe('message_too_long');
    expect((await historyOf(a.token, channelId)).body.messages).toHaveLength(3);
    await s.close();
  });

  it('refuses a frame larger than the largest legal one by closing with 1009', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'huge', channelId, text: 'x'.repeat(MAX_FRAME_BYTES) });
    expect(await s.closed).toBe(CloseCode.MESSAGE_TOO_BIG);
    expect((await historyOf(a.token, channelId)).body.messages).toHaveLength(0);
  });

  it('answers bad frames with stable codes and keeps the connection usable', async () => {
    const { a, channelId } = await pair();
    const s = await RawSocket.open(srv.url, a.token);
    s.send('{not json');
    expect((await s.next('error')).code).toBe('bad_request');
    s.send('[1,2]');
    expect((await s.next('error')).code).toBe('bad_request');
    s.send({ type: 'dance', ref: 'r1' });
    expect(await s.next('error')).toMatchObject({ code: 'unknown_frame', ref: 'r1' });
    s.send({ type: 'send', id: 'nofields' });
    expect(await s.next('error')).toMatchObject({ code: 'bad_request', id: 'nofields' });
    s.send({ type: 'send', id: 'wrongtype', channelId, text: 42 });
    expect((await s.next('error')).code).toBe('bad_request');
    s.send({ type: 'read', channelId, seq: -1, ref: 'neg' });
    expect(await s.next('error')).toMatchObject({ code: 'bad_request', ref: 'neg' });
    s.send('{"type":"send","id":"proto2","channelId":"' + channelId + '","text":"x","__proto__":{"a":1}}');
    expect((await s.next('error', (f) => f.id === 'proto2')).code).toBe('bad_request');
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await s.next('error')).code).toBe('bad_request');
    s.send({ type: 'send', id: 'after-errors', channelId, text: 'still works' });
    expect((await s.next('ack', (f) => f.id === 'after-errors')).seq).toBeGreaterThanOrEqual(1);
    const texts = (await historyOf(a.token, channelId)).body.messages.map((m: { text: string }) => m.text);
    expect(texts).toEqual(['still works']);
    await s.close();
  });

  it('refuses sending, reading and typing in a channel one is not a member of', async () => {
    const { channelId } = await pair();
    const outsider = await newUser(srv.url, 'eve');
    const s = await RawSocket.open(srv.url, outsider.token);
    s.send({ type: 'send', id: 'intrude', channelId, text: 'hi' });
    expect(await s.next('error')).toMatchObject({ code: 'not_member', id: 'intrude' });
    s.send({ type: 'send', id: 'nowhere', channelId: 'c_doesnotexist', text: 'hi' });
    expect((await s.next('error')).code).toBe('channel_not_found');
    s.send({ type: 'typing', channelId, ref: 't' });
    expect(await s.next('error')).toMatchObject({ code: 'not_member', ref: 't' });
    s.send({ type: 'read', channelId, seq: 1, ref: 'r' });
    expect(await s.next('error')).toMatchObject({ code: 'not_member', ref: 'r' });
    const hist = await historyOf(outsider.token, channelId);
    expect(hist.status).toBe(403);
    expect(hist.body.code).toBe('not_member');
    expect((await http(srv.url, 'GET', `/v1/channels/${channelId}`, { token: outsider.token })).body.code).toBe('not_member');
    expect((await historyOf(outsider.token, 'c_doesnotexist')).body.code).toBe('channel_not_found');
    await s.close();
  });

  it('answers HTTP errors with the error body: malformed JSON, unknown route, missing token, oversized body', async () => {
    const a = await newUser(srv.url, 'hal');
    const malformed = await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, raw: '{"userId":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'bad_request', retryable: false });
    const route = await http(srv.url, 'GET', '/v1/nope', { token: a.token });
    expect(route.status).toBe(404);
    expect(route.body.code).toBe('not_found');
    const anon = await http(srv.url, 'GET', '/v1/channels');
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('unauthorized');
    const big = await http(srv.url, 'POST', '/v1/channels', { token: a.token, body: { name: 'x'.repeat(70_000), memberIds: [] } });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('frame_too_large');
  });
});
