import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

describe('operations', () => {
  it('answers health and readiness checks', async () => {
    expect(await http(srv.url, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await http(srv.url, 'GET', '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('exposes Prometheus metrics for connections, messages and latencies', async () => {
    const a = await newUser(srv.url, 'met');
    const b = await newUser(srv.url, 'mex');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const s = await RawSocket.open(srv.url, a.token);
    s.send({ type: 'send', id: 'x', channelId: ch, text: 'count me' });
    await s.next('ack');
    const res = await fetch(`${srv.url}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(text).toMatch(/^confab_connections 1$/m);
    expect(text).toMatch(/^confab_messages_committed_total [1-9]/m);
    expect(text).toMatch(/^confab_send_ack_seconds_count [1-9]/m);
    expect(text).toContain('confab_commit_batch_size_bucket');
    await s.close();
  });

  it('hands a logged-in client the node to connect to', async () => {
    const a = await newUser(srv.url, 'disc');
    const res = await http(srv.url, 'GET', '/v1/connect', { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body.url).toBe(srv.url);
    expect(res.body.nodeId).toMatch(/^n_/);
    expect((await http(srv.url, 'GET', '/v1/connect')).status).toBe(401);
  });

  it('reads settings from the environment and reports every problem at once', () => {
    const c = loadConfig({ PORT: '9999', HOST: '::1', DATA_DIR: '/tmp/x', MAX_GROUP_MEMBERS: '50' });
    expect(c).toMatchObject({ port: 9999, host: '::1', dataDir: '/tmp/x', maxGroupMembers: 50, sqliteSynchronous: 'full', scryptCost: 17 });
    try {
      loadConfig({ PORT: 'eighty', SQLITE_SYNCHRONOUS: 'sometimes', MAX_GROUP_MEMBERS: '1' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(3);
    }
  });
});
