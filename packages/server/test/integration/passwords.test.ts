import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { http, login, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.stop());

/** The close code of `sock` if it closes within `ms`, else null. */
async function closedWithin(sock: RawSocket, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([sock.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('password change', () => {
  it('changes the password, closes every other device\'s sockets within a second and revokes their tokens; this device stays', async () => {
    const u = await newUser(srv.url, 'pw');
    const phone = await login(srv.url, u.username, u.password, 'phone');
    const tablet = await login(srv.url, u.username, u.password, 'tablet');
    const other = await newUser(srv.url, 'pwo');
    const [sp1, sp2, st, mine, theirs] = await Promise.all([
      RawSocket.open(srv.url, phone.token),
      RawSocket.open(srv.url, phone.token),
      RawSocket.open(srv.url, tablet.token),
      RawSocket.open(srv.url, u.token),
      RawSocket.open(srv.url, other.token),
    ]);

    const res = await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, body: { currentPassword: u.password, newPassword: 'a brand new password' } });
    expect(res.status).toBe(204);
    const codes = await Promise.all([sp1, sp2, st].map((s) => closedWithin(s, 1_000)));
    expect(codes).toEqual([CloseCode.SESSION_REVOKED, CloseCode.SESSION_REVOKED, CloseCode.SESSION_REVOKED]);

    for (const token of [phone.token, tablet.token]) expect((await http(srv.url, 'GET', '/v1/me', { token })).body.code).toBe('unauthorized');
    await expect(RawSocket.open(srv.url, phone.token)).rejects.toMatchObject({ status: 401 });
    const devices = await http(srv.url, 'GET', '/v1/devices', { token: u.token });
    expect(devices.body.devices.map((d: { id: string }) => d.id)).toEqual([u.device.id]);

    // This device and other users are untouched.
    mine.send({ type: 'ping', t: 7 });
    expect((await mine.next('pong')).t).toBe(7);
    expect(mine.closeCode).toBeUndefined();
    expect(theirs.closeCode).toBeUndefined();

    const old = await http(srv.url, 'POST', '/v1/sessions', { body: { username: u.username, password: u.password } });
    expect(old.body.code).toBe('invalid_credentials');
    expect((await http(srv.url, 'POST', '/v1/sessions', { body: { username: u.username, password: 'a brand new password' } })).status).toBe(201);
    await Promise.all([mine.close(), theirs.close()]);
  });

  it('refuses a wrong current password and a new password that breaks the rules, changing nothing', async () => {
    const u = await newUser(srv.url, 'pwr');
    const phone = await login(srv.url, u.username, u.password, 'phone');
    const sp = await RawSocket.open(srv.url, phone.token);
    const wrong = await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, body: { currentPassword: 'not my password', newPassword: 'a brand new password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const short = await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, body: { currentPassword: u.password, newPassword: 'short' } });
    expect(short.body.code).toBe('invalid_password');
    for (const body of [{ currentPassword: u.password }, { currentPassword: u.password, newPassword: 12345678 }, { currentPassword: u.password, newPassword: 'x'.repeat(1025) }]) {
      expect((await http(srv.url, 'PUT', '/v1/me/password', { token: u.token, body })).body.code).toBe('bad_request');
    }
    expect((await http(srv.url, 'PUT', '/v1/me/password', { body: { currentPassword: u.password, newPassword: 'a brand new password' } })).body.code).toBe('unauthorized');
    expect((await http(srv.url, 'GET', '/v1/me', { token: phone.token })).status).toBe(200);
    expect(sp.closeCode).toBeUndefined();
    expect((await http(srv.url, 'POST', '/v1/sessions', { body: { username: u.username, password: u.password } })).status).toBe(201);
    await sp.close();
  });
});

describe('logout', () => {
  it('closes the device\'s sockets within a second, and only that device\'s', async () => {
    const u = await newUser(srv.url, 'lo');
    const phone = await login(srv.url, u.username, u.password, 'phone');
    const [s1, s2, keep] = await Promise.all([RawSocket.open(srv.url, phone.token), RawSocket.open(srv.url, phone.token), RawSocket.open(srv.url, u.token)]);
    expect((await http(srv.url, 'DELETE', '/v1/sessions/current', { token: phone.token })).status).toBe(204);
    expect(await Promise.all([closedWithin(s1, 1_000), closedWithin(s2, 1_000)])).toEqual([CloseCode.SESSION_REVOKED, CloseCode.SESSION_REVOKED]);
    expect(keep.closeCode).toBeUndefined();

    // Logging out another of my devices does the same.
    const tablet = await login(srv.url, u.username, u.password, 'tablet');
    const st = await RawSocket.open(srv.url, tablet.token);
    expect((await http(srv.url, 'DELETE', `/v1/devices/${tablet.device.id}`, { token: u.token })).status).toBe(204);
    expect(await closedWithin(st, 1_000)).toBe(CloseCode.SESSION_REVOKED);
    expect(keep.closeCode).toBeUndefined();
    await keep.close();
  });
});
