import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

/*
 * What is decided before a WebSocket exists: the page's origin and how many
 * sockets the user already holds; and, once open, that typing is not shown
 * between users with a block.
 */

let srv: TestServer;
let limited: TestServer;
beforeAll(async () => {
  [srv, limited] = await Promise.all([
    startServer({ allowedOrigins: 'https://app.example.com, https://other.example.org:8443' }),
    startServer({ maxConnectionsPerUser: 2 }),
  ]);
});
afterAll(() => Promise.all([srv.stop(), limited.stop()]));

describe('WebSocket origins', () => {
  it('accepts no Origin (apps, Node), the server\'s own origin and the allowed ones; refuses any other page with 403', async () => {
    const u = await newUser(srv.url, 'orig');
    const own = new URL(srv.url).origin;
    const accepted = await Promise.all(
      [undefined, own, 'https://app.example.com', 'https://other.example.org:8443'].map((origin) => RawSocket.open(srv.url, u.token, origin === undefined ? {} : { origin })),
    );
    for (const s of accepted) expect(s.closeCode).toBeUndefined();
    for (const origin of ['https://evil.example.net', 'http://app.example.com', 'https://app.example.com:444', 'null', 'not a url']) {
      await expect(RawSocket.open(srv.url, u.token, { origin })).rejects.toMatchObject({ status: 403 });
    }
    // The origin check comes before authentication: a foreign page learns nothing about the token.
    await expect(RawSocket.open(srv.url, 'x'.repeat(43), { origin: 'https://evil.example.net' })).rejects.toMatchObject({ status: 403 });
    await Promise.all(accepted.map((s) => s.close()));
  });
});

describe('connections per user', () => {
  it('refuses one more socket than the limit with 429, over all the user\'s devices; a closed one frees its place', async () => {
    const u = await newUser(limited.url, 'cap');
    const other = await newUser(limited.url, 'capo');
    const first = await RawSocket.open(limited.url, u.token);
    const second = await RawSocket.open(limited.url, u.token);
    await expect(RawSocket.open(limited.url, u.token)).rejects.toMatchObject({ status: 429 });
    // Another user is not affected.
    const theirs = await RawSocket.open(limited.url, other.token);
    await first.close();
    const deadline = Date.now() + 5_000;
    let third: RawSocket | undefined;
    while (!third && Date.now() < deadline) third = await RawSocket.open(limited.url, u.token).catch(() => undefined);
    expect(third).toBeDefined();
    await Promise.all([second.close(), third!.close(), theirs.close()]);
  });
});

describe('typing and blocks', () => {
  it('does not show typing between users with a block, in any channel; others still see it', async () => {
    const [a, b, c] = await Promise.all([newUser(srv.url, 'tya'), newUser(srv.url, 'tyb'), newUser(srv.url, 'tyc')]);
    const direct = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id as string;
    const group = (await http(srv.url, 'POST', '/v1/channels', { token: a.token, body: { name: 'typing', memberIds: [b.user.id, c.user.id] } })).body.channel.id as string;
    expect((await http(srv.url, 'PUT', `/v1/blocks/${b.user.id}`, { token: a.token })).status).toBe(204);
    const [sa, sb, sc] = await Promise.all([RawSocket.open(srv.url, a.token), RawSocket.open(srv.url, b.token), RawSocket.open(srv.url, c.token)]);

    sb.send({ type: 'typing', channelId: direct });
    sb.send({ type: 'typing', channelId: group });
    // c still sees b typing in the group, and a sees c.
    await sc.next('typing', (f) => f.userId === b.user.id && f.channelId === group);
    sc.send({ type: 'typing', channelId: group });
    await sa.next('typing', (f) => f.userId === c.user.id);
    sa.send({ type: 'typing', channelId: group });
    await sc.next('typing', (f) => f.userId === a.user.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(sa.frames.filter((f) => f.type === 'typing' && f.userId === b.user.id)).toEqual([]);
    expect(sb.frames.filter((f) => f.type === 'typing' && f.userId === a.user.id)).toEqual([]);
    await Promise.all([sa.close(), sb.close(), sc.close()]);
  });
});
