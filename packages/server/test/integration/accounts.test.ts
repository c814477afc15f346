import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { tableRows } from '../support/backend.js';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

describe('accounts', () => {
  it('signs up, normalizes the username and refuses duplicates', async () => {
    const res = await http(srv.url, 'POST', '/v1/accounts', { body: { username: 'Alice_1', password: 'long enough', displayName: '  Alice  ' } });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: 'alice_1', displayName: 'Alice' });
    expect(res.body.user.id).toMatch(/^u_/);
    expect(res.body.user).not.toHaveProperty('passwordHash');
    const again = await http(srv.url, 'POST', '/v1/accounts', { body: { username: 'alice_1', password: 'long enough', displayName: 'Other' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('username_taken');
  });

  it('refuses bad usernames, passwords and display names with specific codes', async () => {
    const cases: [object, string][] = [
      [{ username: 'a', password: 'long enough', displayName: 'x' }, 'invalid_username'],
      [{ username: 'has space', password: 'long enough', displayName: 'x' }, 'invalid_username'],
      [{ username: 'validname', password: 'short', displayName: 'x' }, 'invalid_password'],
      [{ username: 'validname', password: 'long enough', displayName: '   ' }, 'invalid_name'],
      [{ username: 'validname', password: 'long enough' }, 'bad_request'],
      [{ username: 'validname', password: 12345678, displayName: 'x' }, 'bad_request'],
    ];
    for (const [body, code] of cases) {
      const res = await http(srv.url, 'POST', '/v1/accounts', { body });
      expect(res.body.code, JSON.stringify(body)).toBe(code);
      expect(res.status).toBe(code === 'username_taken' ? 409 : 400);
    }
  });

  it('logs in per device with its own token; a wrong password is refused', async () => {
    const u = await newUser(srv.url, 'bob');
    expect(u.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await login(srv.url, u.username, u.password, 'phone');
    expect(second.token).not.toBe(u.token);
    expect(second.device.id).not.toBe(u.device.id);
    const bad = await http(srv.url, 'POST', '/v1/sessions', { body: { username: u.username, password: 'wrong password' } });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('invalid_credentials');
    const unknown = await http(srv.url, 'POST', '/v1/sessions', { body: { username: 'nobody_here', password: 'whatever1' } });
    expect(unknown.body.code).toBe('invalid_credentials');

    const devices = await http(srv.url, 'GET', '/v1/devices', { token: second.token });
    expect(devices.body.devices).toHaveLength(2);
    expect(devices.body.devices.find((d: { current: boolean }) => d.current).id).toBe(second.device.id);
  });

  it('stores only hashes: scrypt for passwords, SHA-256 for tokens', async () => {
    const u = await newUser(srv.url, 'carol');
    const dump = JSON.stringify(await tableRows(srv.dataDir, 'users')) + JSON.stringify(await tableRows(srv.dataDir, 'devices'));
    expect(dump).toContain(u.user.id);
    expect(dump).not.toContain(u.password);
    expect(dump).not.toContain(u.token);
    expect(dump).toMatch(/scrypt\$10\$8\$1\$/);
  });

  it('logging out one device revokes its token and closes its sockets at once; other devices keep working', async () => {
    const u = await newUser(srv.url, 'dave');
    const phone = await login(srv.url, u.username, u.password, 'phone');
    const sock = await RawSocket.open(srv.url, phone.token);
    const laptopSock = await RawSocket.open(srv.url, u.token);
    const res = await http(srv.url, 'DELETE', `/v1/devices/${phone.device.id}`, { token: u.token });
    expect(res.status).toBe(204);
    expect(await sock.closed).toBe(CloseCode.SESSION_REVOKED);
    expect((await http(srv.url, 'GET', '/v1/me', { token: phone.token })).status).toBe(401);
    await expect(RawSocket.open(srv.url, phone.token)).rejects.toMatchObject({ status: 401 });
    expect((await http(srv.url, 'GET', '/v1/me', { token: u.token })).status).toBe(200);
    expect(laptopSock.closeCode).toBeUndefined();
    laptopSock.send({ type: 'ping', t: 1 });
    expect((await laptopSock.next('pong')).t).toBe(1);
    await laptopSock.close();

    const self = await http(srv.url, 'DELETE', '/v1/sessions/current', { token: u.token });
    expect(self.status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/me', { token: u.token })).body.code).toBe('unauthorized');
    const other = await http(srv.url, 'DELETE', `/v1/devices/d_doesnotexist`, { token: phone.token });
    expect(other.status).toBe(401);
  });

  it('a device cannot revoke another user\'s device', async () => {
    const a = await newUser(srv.url, 'erin');
    const b = await newUser(srv.url, 'frank');
    const res = await http(srv.url, 'DELETE', `/v1/devices/${b.device.id}`, { token: a.token });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('device_not_found');
    expect((await http(srv.url, 'GET', '/v1/me', { token: b.token })).status).toBe(200);
  });

  it('finds users by username prefix and returns profiles; needs a token', async () => {
    const a = await newUser(srv.url, 'zed');
    const found = await http(srv.url, 'GET', `/v1/users?prefix=${a.username.slice(0, 6).toUpperCase()}`, { token: a.token });
    expect(found.status).toBe(200);
    expect(found.body.users.map((u: { id: string }) => u.id)).toContain(a.user.id);
    const profile = await http(srv.url, 'GET', `/v1/users/${a.user.id}`, { token: a.token });
    expect(profile.body.user).toEqual(a.user);
    expect((await http(srv.url, 'GET', `/v1/users/u_nope`, { token: a.token })).body.code).toBe('user_not_found');
    expect((await http(srv.url, 'GET', `/v1/users?prefix=zed`)).body.code).toBe('unauthorized');
    const renamed = await http(srv.url, 'PATCH', '/v1/me', { token: a.token, body: { displayName: 'Zed Z' } });
    expect(renamed.body.user.displayName).toBe('Zed Z');
  });

  it('authenticates WebSockets by subprotocol or header, never echoes the token, refuses bad tokens before upgrading', async () => {
    const u = await newUser(srv.url, 'gina');
    const a = await RawSocket.open(srv.url, u.token);
    expect(a.ws.protocol).toBe('confab.v1');
    const b = await RawSocket.open(srv.url, u.token, { via: 'header' });
    expect(b.ws.protocol).toBe('');
    await Promise.all([a.close(), b.close()]);
    await expect(RawSocket.open(srv.url, 'x'.repeat(43))).rejects.toMatchObject({ status: 401 });
    await expect(RawSocket.open(srv.url, 'not a token', { via: 'header' })).rejects.toMatchObject({ status: 401 });
  });
});
