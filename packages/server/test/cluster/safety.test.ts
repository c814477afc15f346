import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { postgresAvailable, redisAvailable } from '../support/services.js';
import { startCluster, type Cluster } from './cluster-harness.js';

/* Limits, blocks and password changes hold across nodes. */

const run = postgresAvailable && redisAvailable;
let cluster: Cluster;
let urls: string[];

beforeAll(async () => {
  if (!run) return;
  cluster = await startCluster(2, { LOGIN_FAILURES_PER_ACCOUNT: '3', GROUP_OPS_PER_MINUTE: '2' });
  urls = cluster.nodes.map((n) => n.url);
}, 60_000);
afterAll(async () => {
  if (run) await cluster.stop();
});

/** The close code of `sock` if it closes within `ms`, else null. */
async function closedWithin(sock: RawSocket, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([sock.closed, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe.runIf(run)('safety rules across nodes', () => {
  it('a password change on one node closes the other devices\' sockets on every node within a second', async () => {
    const u = await newUser(urls[0]!, 'cpw');
    const phone = await login(urls[1]!, u.username, u.password, 'phone');
    const [onOne, onTwo, mine] = await Promise.all([RawSocket.open(urls[0]!, phone.token), RawSocket.open(urls[1]!, phone.token), RawSocket.open(urls[1]!, u.token)]);
    const res = await http(urls[0]!, 'PUT', '/v1/me/password', { token: u.token, body: { currentPassword: u.password, newPassword: 'a new password here' } });
    expect(res.status).toBe(204);
    expect(await Promise.all([closedWithin(onOne, 1_000), closedWithin(onTwo, 1_000)])).toEqual([CloseCode.SESSION_REVOKED, CloseCode.SESSION_REVOKED]);
    expect(mine.closeCode).toBeUndefined();
    await mine.close();
  });

  it('failed logins and group operations are counted cluster-wide', async () => {
    const u = await newUser(urls[0]!, 'clim');
    for (const url of [urls[0]!, urls[1]!, urls[0]!]) {
      expect((await http(url, 'POST', '/v1/sessions', { body: { username: u.username, password: 'wrong password' } })).body.code).toBe('invalid_credentials');
    }
    const refused = await http(urls[1]!, 'POST', '/v1/sessions', { body: { username: u.username, password: u.password } });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');

    const g = (await http(urls[0]!, 'POST', '/v1/channels', { token: u.token, body: { name: 'One', memberIds: [] } })).body.channel.id;
    expect((await http(urls[1]!, 'PATCH', `/v1/channels/${g}`, { token: u.token, body: { name: 'Two' } })).status).toBe(200);
    expect((await http(urls[0]!, 'PATCH', `/v1/channels/${g}`, { token: u.token, body: { name: 'Three' } })).body.code).toBe('rate_limited');
  });

  it('a block made on one node stops sends through another', async () => {
    const [a, b] = await Promise.all([newUser(urls[0]!, 'cba'), newUser(urls[1]!, 'cbb')]);
    const ch = (await http(urls[1]!, 'POST', '/v1/channels/direct', { token: b.token, body: { userId: a.user.id } })).body.channel.id;
    expect((await http(urls[0]!, 'PUT', `/v1/blocks/${b.user.id}`, { token: a.token })).status).toBe(204);
    const sb = await RawSocket.open(urls[1]!, b.token);
    sb.send({ type: 'send', id: 'x', channelId: ch, text: 'hello?' });
    expect((await sb.next('error', (f) => f.id === 'x')).code).toBe('blocked');
    await sb.close();
  });
});
