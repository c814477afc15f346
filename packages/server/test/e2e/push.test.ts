import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, login, newUser } from '../support/http.js';
import { spawnServer } from '../support/process.js';
import { registerToken, registerWebPush, pushesTo, startPushEnv, APNS_BUNDLE, type PushEnv } from '../support/push-env.js';
import { RawSocket } from '../support/raw-socket.js';
import { waitFor } from '../support/sdk.js';
import { sleep } from '../support/wait.js';
import { startServer, type TestServer } from '../support/server.js';
import { dropBackend } from '../support/backend.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Push notifications end to end: a real server (both configurations) sends
 * through its real senders to local stand-ins of a Web Push service (which
 * verifies VAPID and decrypts the payload), APNs and FCM. Timings are
 * shortened by settings: ack grace 400 ms, coalescing window 1 s.
 */

let env: PushEnv;
let srv: TestServer;

beforeAll(async () => {
  env = await startPushEnv();
  srv = await startServer(env.config);
});
afterAll(async () => {
  await srv?.stop();
  await env?.close();
});

/** Comfortably past the ack grace and a few worker rounds. */
const SETTLE_MS = 1_200;

async function group(url: string, ownerToken: string, name: string, memberIds: string[]): Promise<string> {
  const res = await http(url, 'POST', '/v1/channels', { token: ownerToken, body: { name, memberIds } });
  return res.body.channel.id as string;
}

async function send(url: string, token: string, channelId: string, text: string, clientId = `${Math.random()}`): Promise<number> {
  const res = await http(url, 'POST', `/v1/channels/${channelId}/messages`, { token, body: { clientId, text } });
  if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
  return res.body.seq as number;
}

describe('push registrations', () => {
  it('announces the services and the VAPID key, and keeps one registration per device', async () => {
    const a = await newUser(srv.url, 'pr');
    const config = await http(srv.url, 'GET', '/v1/push/config', { token: a.token });
    expect(config.body).toEqual({ webPush: { publicKey: expect.stringMatching(/^[A-Za-z0-9_-]{87}$/) }, apns: true, fcm: true });
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: a.token })).body).toEqual({ registration: null });
    const sub = await registerWebPush(srv.url, a.token, env.webPush);
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: a.token })).body).toEqual({ registration: { kind: 'webpush', ...sub } });
    await registerToken(srv.url, a.token, 'apns', 'ab'.repeat(32));
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: a.token })).body).toEqual({ registration: { kind: 'apns', token: 'ab'.repeat(32) } });
    expect((await http(srv.url, 'DELETE', '/v1/devices/current/push', { token: a.token })).status).toBe(204);
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: a.token })).body).toEqual({ registration: null });
  });

  it('refuses endpoints outside the known push services, non-https endpoints and malformed keys', async () => {
    const a = await newUser(srv.url, 'pv');
    const good = env.webPush.subscribe();
    const put = (body: unknown) => http(srv.url, 'PUT', '/v1/devices/current/push', { token: a.token, body });
    expect((await put({ kind: 'webpush', ...good, endpoint: 'https://169.254.169.254/latest/meta-data' })).body.code).toBe('push_unsupported');
    expect((await put({ kind: 'webpush', ...good, endpoint: good.endpoint.replace('https:', 'http:') })).body.code).toBe('bad_request');
    expect((await put({ kind: 'webpush', ...good, keys: { ...good.keys, p256dh: 'AAAA' } })).body.code).toBe('bad_request');
    expect((await put({ kind: 'webpush', ...good, keys: { ...good.keys, auth: 'AAAA' } })).body.code).toBe('bad_request');
    expect((await put({ kind: 'apns', token: 'not hex' })).body.code).toBe('bad_request');
    expect((await put({ kind: 'fcm', token: 'short' })).body.code).toBe('bad_request');
    expect((await put({ kind: 'webpush', ...good, extra: 1 })).body.code).toBe('bad_request');
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: a.token })).body.registration).toBeNull();
  });

  it('drops a device’s registration when the device logs out', async () => {
    const a = await newUser(srv.url, 'pl');
    const phone = await login(srv.url, a.username, a.password, 'phone');
    await registerWebPush(srv.url, phone.token, env.webPush);
    expect((await http(srv.url, 'DELETE', '/v1/sessions/current', { token: phone.token })).status).toBe(204);
    // Logged in again on the same phone: a new device without a registration.
    const again = await login(srv.url, a.username, a.password, 'phone');
    expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: again.token })).body.registration).toBeNull();
  });
});

describe('who gets a push', () => {
  it('pushes offline devices through Web Push, APNs and FCM; not devices that got it live, and never the sender’s own', async () => {
    const alice = await newUser(srv.url, 'wa');
    const aliceTablet = await login(srv.url, alice.username, alice.password, 'tablet');
    const bob = await newUser(srv.url, 'wb');
    const bobLaptop = await login(srv.url, bob.username, bob.password, 'laptop');
    const bobPhone = await login(srv.url, bob.username, bob.password, 'phone');
    const carol = await newUser(srv.url, 'wc');
    const ch = await group(srv.url, alice.token, 'Hikers', [bob.user.id, carol.user.id]);

    const aliceTabletSub = await registerWebPush(srv.url, aliceTablet.token, env.webPush);
    const bobLiveSub = await registerWebPush(srv.url, bob.token, env.webPush);
    const bobLaptopSub = await registerWebPush(srv.url, bobLaptop.token, env.webPush);
    const bobPhoneToken = 'b0'.repeat(32);
    await registerToken(srv.url, bobPhone.token, 'apns', bobPhoneToken);
    const carolToken = `carol-fcm-${'x'.repeat(40)}`;
    await registerToken(srv.url, carol.token, 'fcm', carolToken);

    // bob's first device is connected and acknowledges what it receives, as the SDK does.
    const live = await RawSocket.open(srv.url, bob.token);
    const seq = await send(srv.url, alice.token, ch, 'Summit at dawn?');
    const frame = await live.next('message', (f) => f.message.seq === seq);
    live.send({ type: 'delivered', channelId: ch, seq: frame.message.seq });

    await waitFor(() => pushesTo(env.webPush, bobLaptopSub).length === 1, 5_000, 'web push to the laptop');
    await waitFor(() => env.apns.requests.some((r) => r.deviceToken === bobPhoneToken), 5_000, 'apns push');
    await waitFor(() => env.fcm.requests.some((r) => JSON.stringify(r.body).includes(carolToken)), 5_000, 'fcm push');
    await sleep(SETTLE_MS);

    const [web] = pushesTo(env.webPush, bobLaptopSub);
    expect(web!.payload).toEqual({
      type: 'message',
      channelId: ch,
      count: 1,
      seq,
      senderId: alice.user.id,
      senderName: alice.user.displayName,
      channelName: 'Hikers',
      preview: 'Summit at dawn?',
    });
    expect(web!.vapidClaims.aud).toBe(env.webPush.url);
    expect(web!.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(web!.ttl).toBeGreaterThan(0);

    const apns = env.apns.requests.filter((r) => r.deviceToken === bobPhoneToken);
    expect(apns).toHaveLength(1);
    expect(apns[0]!.headers['apns-topic']).toBe(APNS_BUNDLE);
    expect(apns[0]!.body).toMatchObject({ aps: { alert: { title: 'Hikers', body: `${alice.user.displayName}: Summit at dawn?` } } });

    const fcm = env.fcm.requests.filter((r) => JSON.stringify(r.body).includes(carolToken));
    expect(fcm).toHaveLength(1);
    expect(fcm[0]!.body).toMatchObject({ message: { token: carolToken, data: { channelId: ch, type: 'message' } } });

    // Exactly those three: not bob's live device, not alice's own tablet.
    expect(pushesTo(env.webPush, bobLiveSub)).toEqual([]);
    expect(pushesTo(env.webPush, aliceTabletSub)).toEqual([]);
    expect(pushesTo(env.webPush, bobLaptopSub)).toHaveLength(1);
    await live.close();
  });

  it('pushes a device that is connected but never acknowledges (a socket that silently died)', async () => {
    const alice = await newUser(srv.url, 'sa');
    const bob = await newUser(srv.url, 'sb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);
    const mute = await RawSocket.open(srv.url, bob.token);
    const seq = await send(srv.url, alice.token, ch, 'are you there?');
    await mute.next('message', (f) => f.message.seq === seq); // delivered to the socket, never acknowledged
    await waitFor(() => pushesTo(env.webPush, sub).length === 1, 5_000, 'push to the silent device');
    // A direct chat: titled by the sender, no channel name.
    expect(pushesTo(env.webPush, sub)[0]!.payload).toMatchObject({ type: 'message', channelName: null, senderName: alice.user.displayName, preview: 'are you there?' });
    await mute.close();
  });

  it('sends nothing for a channel its member muted, until the mute is lifted or ends', async () => {
    const alice = await newUser(srv.url, 'ma');
    const bob = await newUser(srv.url, 'mb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);

    const muted = await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: bob.token, body: { mutedUntil: Date.now() + 3_600_000 } });
    expect(muted.status).toBe(200);
    expect((await http(srv.url, 'GET', '/v1/channels', { token: bob.token })).body.channels[0].mutedUntil).toBe(muted.body.mutedUntil);
    await send(srv.url, alice.token, ch, 'muted 1');
    await sleep(SETTLE_MS);
    expect(pushesTo(env.webPush, sub)).toEqual([]);

    await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: bob.token, body: { mutedUntil: null } });
    await send(srv.url, alice.token, ch, 'unmuted');
    await waitFor(() => pushesTo(env.webPush, sub).length === 1, 5_000, 'push after unmute');
    // Only the message sent while unmuted is counted.
    expect(pushesTo(env.webPush, sub)[0]!.payload).toMatchObject({ count: 1, preview: 'unmuted' });

    // A mute that has ended no longer applies.
    await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: bob.token, body: { mutedUntil: Date.now() - 1 } });
    expect((await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: alice.token, body: { mutedUntil: 'soon' } })).body.code).toBe('bad_request');
    const stranger = await newUser(srv.url, 'mx');
    expect((await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: stranger.token, body: { mutedUntil: null } })).body.code).toBe('not_member');
  });

  it('tells the member’s other connected devices about a mute at once', async () => {
    const alice = await newUser(srv.url, 'mo');
    const bob = await newUser(srv.url, 'mp');
    const bobPhone = await login(srv.url, bob.username, bob.password, 'phone');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const phone = await RawSocket.open(srv.url, bobPhone.token);
    const aliceSocket = await RawSocket.open(srv.url, alice.token);
    await http(srv.url, 'PUT', `/v1/channels/${ch}/mute`, { token: bob.token, body: { mutedUntil: 253_402_300_799_999 } });
    expect(await phone.next('muted')).toEqual({ type: 'muted', channelId: ch, mutedUntil: 253_402_300_799_999 });
    await sleep(100);
    expect(aliceSocket.frames.filter((f) => f.type === 'muted')).toEqual([]);
    await Promise.all([phone.close(), aliceSocket.close()]);
  });
});

describe('coalescing and clearing', () => {
  it('folds a burst into one push carrying the count, and the next burst into one more', async () => {
    const alice = await newUser(srv.url, 'ca');
    const bob = await newUser(srv.url, 'cb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);
    for (let i = 1; i <= 5; i++) await send(srv.url, alice.token, ch, `burst ${i}`);
    await waitFor(() => pushesTo(env.webPush, sub).length === 1, 5_000, 'first push');
    for (let i = 6; i <= 7; i++) await send(srv.url, alice.token, ch, `burst ${i}`);
    await waitFor(() => pushesTo(env.webPush, sub).length === 2, 5_000, 'second push');
    await sleep(SETTLE_MS);
    const pushes = pushesTo(env.webPush, sub);
    expect(pushes.map((p) => [p.payload.count, p.payload.preview])).toEqual([
      [5, 'burst 5'],
      // Still unacknowledged, so the notification that replaces the first counts all seven.
      [7, 'burst 7'],
    ]);
    // Both are the channel's notification: the same Topic, so the push service keeps only the newest.
    expect(pushes[0]!.topic).toBe(pushes[1]!.topic);
    // The coalescing window holds between the two pushes.
    expect(pushes[1]!.receivedAt - pushes[0]!.receivedAt).toBeGreaterThanOrEqual(900);
  });

  it('clears the notification on the user’s other devices when they read the channel (a silent read push)', async () => {
    const alice = await newUser(srv.url, 'ra');
    const bob = await newUser(srv.url, 'rb');
    const bobPhone = await login(srv.url, bob.username, bob.password, 'phone');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const phoneSub = await registerWebPush(srv.url, bobPhone.token, env.webPush);
    const seq = await send(srv.url, alice.token, ch, 'lunch?');
    await waitFor(() => pushesTo(env.webPush, phoneSub).length === 1, 5_000, 'message push');

    // bob opens the chat on his laptop and reads it.
    const laptop = await RawSocket.open(srv.url, bob.token);
    laptop.send({ type: 'read', channelId: ch, seq });
    await waitFor(() => pushesTo(env.webPush, phoneSub).length === 2, 5_000, 'read push');
    expect(pushesTo(env.webPush, phoneSub)[1]!.payload).toEqual({ type: 'read', channelId: ch, seq });
    await sleep(SETTLE_MS);
    expect(pushesTo(env.webPush, phoneSub)).toHaveLength(2);
    await laptop.close();
  });

  it('sends no push at all when the user reads on another device before it is due', async () => {
    const alice = await newUser(srv.url, 'na');
    const bob = await newUser(srv.url, 'nb');
    const bobPhone = await login(srv.url, bob.username, bob.password, 'phone');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const phoneSub = await registerWebPush(srv.url, bobPhone.token, env.webPush);
    const laptop = await RawSocket.open(srv.url, bob.token);
    const seq = await send(srv.url, alice.token, ch, 'quick one');
    await laptop.next('message', (f) => f.message.seq === seq);
    laptop.send({ type: 'read', channelId: ch, seq });
    await sleep(SETTLE_MS);
    expect(pushesTo(env.webPush, phoneSub)).toEqual([]);
    await laptop.close();
  });

  it('a device that reconnects syncs what it missed; its acknowledgement stops a pending push', async () => {
    const alice = await newUser(srv.url, 'ya');
    const bob = await newUser(srv.url, 'yb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);
    const seq = await send(srv.url, alice.token, ch, 'while you were away');
    // bob comes back within the grace, fetches through sync and history, and acknowledges.
    const sock = await RawSocket.open(srv.url, bob.token);
    const history = await http(srv.url, 'GET', `/v1/channels/${ch}/messages?after=0`, { token: bob.token });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual([seq]);
    sock.send({ type: 'delivered', channelId: ch, seq });
    await sleep(SETTLE_MS);
    expect(pushesTo(env.webPush, sub)).toEqual([]);
    await sock.close();
  });
});

describe('push service answers', () => {
  it('removes a registration the push service says is gone (410), and pushes it no more', async () => {
    const alice = await newUser(srv.url, 'ga');
    const bob = await newUser(srv.url, 'gb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);
    const path = new URL(sub.endpoint).pathname;
    env.webPush.respondWith((p) => (p.path === path ? { status: 410 } : { status: 201 }));
    try {
      await send(srv.url, alice.token, ch, 'to a dead subscription');
      await waitFor(() => pushesTo(env.webPush, sub).length === 1, 5_000, 'the push that gets 410');
      await sleep(300);
      expect((await http(srv.url, 'GET', '/v1/devices/current/push', { token: bob.token })).body.registration).toBeNull();
      await send(srv.url, alice.token, ch, 'again');
      await sleep(SETTLE_MS);
      expect(pushesTo(env.webPush, sub)).toHaveLength(1);
    } finally {
      env.webPush.respondWith(null);
    }
  });

  it('retries after 503, waiting as long as Retry-After says', async () => {
    const alice = await newUser(srv.url, 'ta');
    const bob = await newUser(srv.url, 'tb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
    const sub = await registerWebPush(srv.url, bob.token, env.webPush);
    const path = new URL(sub.endpoint).pathname;
    let answered = 0;
    env.webPush.respondWith((p) => (p.path === path && answered++ === 0 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 201 }));
    try {
      await send(srv.url, alice.token, ch, 'eventually');
      await waitFor(() => pushesTo(env.webPush, sub).length === 2, 8_000, 'the retried push');
      const [first, second] = pushesTo(env.webPush, sub);
      expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1_900);
      expect(second!.payload).toEqual(first!.payload);
      await sleep(SETTLE_MS);
      expect(pushesTo(env.webPush, sub)).toHaveLength(2);
    } finally {
      env.webPush.respondWith(null);
    }
  });

  it('removes an APNs token Apple reports Unregistered, and an FCM token reported UNREGISTERED', async () => {
    const alice = await newUser(srv.url, 'ua');
    const bob = await newUser(srv.url, 'ub');
    const carol = await newUser(srv.url, 'uc');
    const ch = await group(srv.url, alice.token, 'Gone', [bob.user.id, carol.user.id]);
    await registerToken(srv.url, bob.token, 'apns', 'c0'.repeat(32));
    await registerToken(srv.url, carol.token, 'fcm', `gone-fcm-${'y'.repeat(40)}`);
    env.apns.respondWith({ status: 410, reason: 'Unregistered' });
    env.fcm.respondWith({ status: 404, errorCode: 'UNREGISTERED' });
    await send(srv.url, alice.token, ch, 'hello?');
    const gone = async (token: string) => (await http(srv.url, 'GET', '/v1/devices/current/push', { token })).body.registration === null;
    for (let i = 0; i < 50 && !((await gone(bob.token)) && (await gone(carol.token))); i++) await sleep(100);
    expect(await gone(bob.token)).toBe(true);
    expect(await gone(carol.token)).toBe(true);
  });
});

describe('privacy mode', () => {
  it('sends who and where, never the text', async () => {
    const privateSrv = await startServer({ ...env.config, pushPrivacy: true });
    try {
      const alice = await newUser(privateSrv.url, 'xa');
      const bob = await newUser(privateSrv.url, 'xb');
      const ch = (await http(privateSrv.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
      const sub = await registerWebPush(privateSrv.url, bob.token, env.webPush);
      const apnsToken = 'd0'.repeat(32);
      const bobPhone = await login(privateSrv.url, bob.username, bob.password, 'phone');
      await registerToken(privateSrv.url, bobPhone.token, 'apns', apnsToken);
      await send(privateSrv.url, alice.token, ch, 'the secret plan');
      await send(privateSrv.url, alice.token, ch, 'part two');
      await waitFor(() => pushesTo(env.webPush, sub).length === 1, 5_000, 'private push');
      await waitFor(() => env.apns.requests.some((r) => r.deviceToken === apnsToken), 5_000, 'private apns push');
      const web = pushesTo(env.webPush, sub)[0]!;
      expect(web.payload).toEqual({ type: 'message', channelId: ch, count: 2, seq: 2, senderId: alice.user.id, senderName: alice.user.displayName, channelName: null });
      expect(web.text).not.toMatch(/secret|part two/);
      const apns = env.apns.requests.find((r) => r.deviceToken === apnsToken)!;
      expect(JSON.stringify(apns.body)).not.toMatch(/secret|part two/);
      expect(apns.body).toMatchObject({ aps: { alert: { title: alice.user.displayName, body: '2 new messages' } } });
    } finally {
      await privateSrv.stop();
    }
  });
});

describe('durability', () => {
  it('sends a push that was due when the server was killed, after it restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'confab-push-kill-'));
    // A long grace, so the push is still pending when the process dies.
    const processEnv = { ...env.env, DATA_DIR: dataDir, PUSH_ACK_GRACE_MS: '1500', SQLITE_SYNCHRONOUS: 'full' };
    let proc = await spawnServer(processEnv);
    try {
      const alice = await newUser(proc.url, 'ka');
      const bob = await newUser(proc.url, 'kb');
      const ch = (await http(proc.url, 'POST', '/v1/channels/direct', { token: alice.token, body: { userId: bob.user.id } })).body.channel.id;
      const sub = await registerWebPush(proc.url, bob.token, env.webPush);
      await send(proc.url, alice.token, ch, 'before the crash');
      proc.child.kill('SIGKILL');
      await proc.exited;
      expect(pushesTo(env.webPush, sub)).toEqual([]);

      proc = await spawnServer(processEnv);
      await waitFor(() => pushesTo(env.webPush, sub).length === 1, 8_000, 'the push after restart');
      expect(pushesTo(env.webPush, sub)[0]!.payload).toMatchObject({ type: 'message', preview: 'before the crash', count: 1 });
      await sleep(SETTLE_MS);
      expect(pushesTo(env.webPush, sub)).toHaveLength(1);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
      await dropBackend(dataDir);
    }
  });
});
