import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESUME_HAVE, MAX_RESUME_MESSAGES, MAX_RESUME_MESSAGES_PER_CHANNEL, MAX_RESUME_TEXT, type Message } from '@confab/protocol';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

/*
 * The `sync` frame: a sync page over the socket that carries each named
 * channel's missed messages, so a reconnecting device needs no HTTP at all.
 */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

async function send(token: string, channelId: string, texts: string[]): Promise<void> {
  for (const [i, text] of texts.entries()) {
    const res = await http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token, body: { clientId: `m${i}-${Date.now()}-${Math.random()}`, text } });
    expect(res.status).toBe(201);
  }
}

async function headCursor(token: string): Promise<string> {
  return (await http(srv.url, 'GET', '/v1/sync', { token })).body.cursor;
}

const seqs = (messages: Message[] | undefined) => (messages ?? []).map((m) => m.seq);

describe('sync frame', () => {
  it('answers the same page as GET /v1/sync, with the messages after `have` for the channels it names', async () => {
    const a = await newUser(srv.url, 'rsa');
    const b = await newUser(srv.url, 'rsb');
    const c = await newUser(srv.url, 'rsc');
    const ab = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id as string;
    const ac = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: c.user.id } })).body.channel.id as string;
    await send(b.token, ab, ['one', 'two']);
    const cursor = await headCursor(a.token);
    await send(b.token, ab, ['three', 'four', 'five']);
    await send(c.token, ac, ['hello']);

    const overHttp = (await http(srv.url, 'GET', `/v1/sync?cursor=${cursor}`, { token: a.token })).body;
    const ws = await RawSocket.open(srv.url, a.token);
    ws.send({ type: 'sync', ref: 'r1', cursor, have: { [ab]: 2 } });
    const page = await ws.next('sync');
    expect(page.ref).toBe('r1');
    // Cursors are opaque, and on PostgreSQL they carry the snapshot's horizon,
    // which moves with any transaction in between: equal in what they lead to.
    for (const next of [page.cursor, overHttp.cursor]) {
      expect((await http(srv.url, 'GET', `/v1/sync?cursor=${encodeURIComponent(next)}`, { token: a.token })).body.channels).toEqual([]);
    }
    expect(page.hasMore).toBe(overHttp.hasMore);
    expect(page.channels.map(({ messages: _, ...entry }) => entry)).toEqual(overHttp.channels);
    const byId = new Map(page.channels.map((e) => [e.channelId, e]));
    expect(seqs(byId.get(ab)!.messages)).toEqual([3, 4, 5]);
    expect(byId.get(ab)!.messages!.map((m) => m.text)).toEqual(['three', 'four', 'five']);
    // Not named in `have`: the device reads it from history as before.
    expect(byId.get(ac)!.messages).toBeUndefined();

    // Nothing missed: no messages; an unknown cursor: bad_request with the ref.
    ws.send({ type: 'sync', ref: 'r2', cursor, have: { [ab]: 5, [ac]: 1 } });
    const again = await ws.next('sync', (f) => f.ref === 'r2');
    expect(again.channels.every((e) => e.messages === undefined)).toBe(true);
    ws.send({ type: 'sync', ref: 'r3', cursor: 'not a cursor' });
    expect(await ws.next('error', (f) => f.ref === 'r3')).toMatchObject({ code: 'bad_request', retryable: false });
    await ws.close();
  });

  it('carries at most 50 messages per channel and a bounded amount of text; history has the rest', async () => {
    const a = await newUser(srv.url, 'rba');
    const b = await newUser(srv.url, 'rbb');
    const many = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id as string;
    const group = (await http(srv.url, 'POST', '/v1/channels', { token: a.token, body: { name: 'big texts', memberIds: [b.user.id] } })).body.channel.id as string;
    const cursor = await headCursor(b.token);
    await send(a.token, many, Array.from({ length: MAX_RESUME_MESSAGES_PER_CHANNEL + 10 }, (_, i) => `n${i}`));
    // Three texts of 100,000 code points: two fit the answer's text budget, the third does not.
    const big = 'x'.repeat(100_000);
    await send(a.token, group, [big, big, big]);

    const ws = await RawSocket.open(srv.url, b.token);
    ws.send({ type: 'sync', ref: 'b1', cursor, have: { [many]: 0, [group]: 1 } });
    const page = await ws.next('sync');
    const byId = new Map(page.channels.map((e) => [e.channelId, e]));
    expect(byId.get(many)!.lastSeq).toBe(MAX_RESUME_MESSAGES_PER_CHANNEL + 10);
    expect(seqs(byId.get(many)!.messages)).toEqual(Array.from({ length: MAX_RESUME_MESSAGES_PER_CHANNEL }, (_, i) => i + 1));
    const carried = byId.get(group)!.messages ?? [];
    const text = page.channels.flatMap((e) => e.messages ?? []).reduce((sum, m) => sum + m.text.length, 0);
    expect(text).toBeLessThanOrEqual(MAX_RESUME_TEXT);
    // Whatever was carried is a gap-free prefix starting right after `have`.
    expect(seqs(carried)).toEqual(seqs(carried).map((_, i) => 2 + i));
    expect(carried.length).toBeLessThan(3);
    await ws.close();
  });

  it('carries at most 1,000 messages in all, so one frame costs the server a bounded number of reads', async () => {
    const a = await newUser(srv.url, 'rta');
    const b = await newUser(srv.url, 'rtb');
    const groupCount = MAX_RESUME_MESSAGES / MAX_RESUME_MESSAGES_PER_CHANNEL + 1;
    const groups: string[] = [];
    for (let i = 0; i < groupCount; i++) groups.push((await http(srv.url, 'POST', '/v1/channels', { token: a.token, body: { name: `many ${i}`, memberIds: [b.user.id] } })).body.channel.id);
    const cursor = await headCursor(b.token);
    await Promise.all(groups.map((g) => send(a.token, g, Array.from({ length: MAX_RESUME_MESSAGES_PER_CHANNEL }, (_, i) => `m${i}`))));

    const ws = await RawSocket.open(srv.url, b.token);
    ws.send({ type: 'sync', ref: 't1', cursor, have: Object.fromEntries(groups.map((g) => [g, 1])) });
    const page = await ws.next('sync');
    expect(page.channels).toHaveLength(groupCount);
    const carried = page.channels.map((e) => e.messages ?? []);
    expect(carried.reduce((n, m) => n + m.length, 0)).toBe(MAX_RESUME_MESSAGES);
    // Each channel's share is a gap-free prefix after `have`: full ones first, then none.
    for (const messages of carried) expect(seqs(messages)).toEqual(messages.map((_, i) => 2 + i));
    expect(carried.filter((m) => m.length === 0)).toHaveLength(1);
    await ws.close();
  });

  it('shows a former member exactly what history shows them: nothing after their removal', async () => {
    const owner = await newUser(srv.url, 'rfo');
    const gone = await newUser(srv.url, 'rfg');
    const group = (await http(srv.url, 'POST', '/v1/channels', { token: owner.token, body: { name: 'leavers', memberIds: [gone.user.id] } })).body.channel.id as string;
    const cursor = await headCursor(gone.token);
    await send(owner.token, group, ['before removal']);
    expect((await http(srv.url, 'DELETE', `/v1/channels/${group}/members/${gone.user.id}`, { token: owner.token })).status).toBeLessThan(300);
    await send(owner.token, group, ['after removal', 'more after']);

    const ws = await RawSocket.open(srv.url, gone.token);
    ws.send({ type: 'sync', ref: 'f1', cursor, have: { [group]: 1 } });
    const entry = (await ws.next('sync')).channels.find((e) => e.channelId === group)!;
    const history = (await http(srv.url, 'GET', `/v1/channels/${group}/messages?after=1`, { token: gone.token })).body.messages as Message[];
    expect(entry.left).toBe(true);
    expect(entry.messages).toEqual(history);
    expect(entry.messages!.map((m) => m.text)).not.toContain('after removal');
    await ws.close();
  });

  it('refuses malformed sync frames with the ref, keeping the connection', async () => {
    const a = await newUser(srv.url, 'rma');
    const ws = await RawSocket.open(srv.url, a.token);
    const cursor = await headCursor(a.token);
    const tooMany = Object.fromEntries(Array.from({ length: MAX_RESUME_HAVE + 1 }, (_, i) => [`c_${i}`, 1]));
    const bad = [
      { type: 'sync', ref: 'x1', cursor, have: tooMany },
      { type: 'sync', ref: 'x2', cursor, have: { 'c 1': 1 } },
      { type: 'sync', ref: 'x3', cursor, have: { c_1: -1 } },
      { type: 'sync', ref: 'x4', cursor, limit: 501 },
      { type: 'sync', ref: 'x5' },
      { type: 'sync', ref: 'x6', cursor, extra: true },
    ];
    for (const frame of bad) {
      ws.send(frame);
      expect(await ws.next('error', (f) => f.ref === frame.ref), frame.ref).toMatchObject({ code: 'bad_request' });
    }
    ws.send({ type: 'sync', ref: 'ok', cursor });
    expect(await ws.next('sync', (f) => f.ref === 'ok')).toMatchObject({ cursor, hasMore: false, channels: [] });
    await ws.close();
  });
});
