import crypto from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateP8Key, startApnsService, type ApnsService, SAMPLE_MESSAGE, SAMPLE_READ } from '../../../test/support/push-http2.js';
import { ApnsSender } from './apns-sender.js';

const teamId = 'TEAM123456';
const keyId = 'KEY7654321';
const bundleId = 'org.confab.app';
const deviceToken = 'a1b2c3d4'.repeat(8);
const registration = { kind: 'apns' as const, token: deviceToken };
const opts = { ttlSeconds: 3600, collapseKey: 'ch_general' };

const message = SAMPLE_MESSAGE;
const read = SAMPLE_READ;

describe('ApnsSender', () => {
  const key = generateP8Key();
  let service: ApnsService;
  let sender: ApnsSender;

  beforeEach(async () => {
    service = await startApnsService({ teamId, keyId, bundleId, publicKey: key.publicKey });
    sender = new ApnsSender({ teamId, keyId, bundleId, privateKeyPem: key.privateKeyPem, baseUrl: service.url, ca: service.ca, timeoutMs: 2_000 });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await sender.close();
    await service.close();
  });

  it('delivers a message push with the documented headers, provider token and body', async () => {
    const before = Math.floor(Date.now() / 1000);
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });

    expect(service.requests).toHaveLength(1);
    const request = service.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/3/device/${deviceToken}`);
    expect(request.headers).toMatchObject({
      'apns-topic': bundleId,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-collapse-id': 'ch_general',
      'content-type': 'application/json',
    });
    const expiration = Number(request.headers['apns-expiration']);
    expect(expiration).toBeGreaterThanOrEqual(before + 3600);
    expect(expiration).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(request.headers.authorization).toBe(`bearer ${request.jwt}`);

    // The provider token: exactly the documented header and claims, ES256 over the .p8 key.
    expect(request.jwtHeader).toEqual({ alg: 'ES256', kid: keyId });
    expect(request.jwtClaims).toEqual({ iss: teamId, iat: expect.any(Number) });
    expect(request.jwtClaims.iat).toBeGreaterThanOrEqual(before);
    const [h, c, s] = request.jwt.split('.') as [string, string, string];
    expect(crypto.verify('sha256', Buffer.from(`${h}.${c}`), { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))).toBe(true);

    expect(request.body).toEqual({
      aps: {
        alert: { title: 'general', body: 'Alice: lunch at noon?' },
        'thread-id': 'ch_general',
        badge: 3,
        sound: 'default',
        'mutable-content': 1,
      },
      confab: message,
    });
  });

  it('sends a read push as a silent background notification with priority 5', async () => {
    await expect(sender.send(registration, read, opts)).resolves.toEqual({ status: 'sent' });
    const request = service.requests[0]!;
    expect(request.headers['apns-push-type']).toBe('background');
    expect(request.headers['apns-priority']).toBe('5');
    expect(request.body).toEqual({ aps: { 'content-available': 1 }, confab: read });
  });

  it('leaves the badge out when the payload has no count, and shortens a long collapse key to 64 bytes', async () => {
    const { count: _count, ...single } = message;
    const longKey = `channel:${'x'.repeat(100)}`;
    await expect(sender.send(registration, single, { ttlSeconds: 0, collapseKey: longKey })).resolves.toEqual({ status: 'sent' });
    const request = service.requests[0]!;
    expect((request.body as { aps: Record<string, unknown> }).aps).not.toHaveProperty('badge');
    expect(Buffer.byteLength(request.headers['apns-collapse-id']!)).toBeLessThanOrEqual(64);
    expect(request.headers['apns-expiration']).toBe('0');
  });

  it('reuses one provider token and one HTTP/2 connection across sends', async () => {
    await Promise.all([1, 2, 3].map(() => sender.send(registration, message, opts)));
    await sender.send(registration, read, opts);
    expect(service.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(service.requests.map((r) => r.jwt)).size).toBe(1);
    expect(service.connections()).toBe(1);
  });

  it('signs a new provider token after 50 minutes, before APNs would refuse it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    await sender.send(registration, message, opts);
    vi.setSystemTime(start + 49 * 60_000);
    await sender.send(registration, message, opts);
    vi.setSystemTime(start + 51 * 60_000);
    await sender.send(registration, message, opts);

    const [first, second, third] = service.requests;
    expect(second!.jwt).toBe(first!.jwt);
    expect(third!.jwt).not.toBe(first!.jwt);
    expect(Number(third!.jwtClaims.iat) - Number(first!.jwtClaims.iat)).toBeGreaterThanOrEqual(51 * 60 - 1);
    expect(service.requests.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('re-signs the token and retries once when APNs says it expired', async () => {
    await sender.send(registration, message, opts);
    service.respondWith({ status: 403, reason: 'ExpiredProviderToken' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    await sender.send(registration, message, opts);

    const [first, refused, retried, later] = service.requests;
    expect(refused!.status).toBe(403);
    expect(refused!.jwt).toBe(first!.jwt);
    expect(retried!.status).toBe(200);
    expect(retried!.jwt).not.toBe(refused!.jwt);
    expect(later!.jwt).toBe(retried!.jwt);
  });

  it('answers retry when a freshly signed token is refused too, without looping', async () => {
    service.respondWith({ status: 403, reason: 'InvalidProviderToken' }, { status: 403, reason: 'InvalidProviderToken' });
    const outcome = await sender.send(registration, message, opts);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('InvalidProviderToken') });
    expect(service.requests).toHaveLength(2);
    expect(service.requests[1]!.jwt).not.toBe(service.requests[0]!.jwt);
  });

  it('a token APNs never signed is refused by the service (the check is real)', async () => {
    const other = generateP8Key();
    const impostor = new ApnsSender({ teamId, keyId, bundleId, privateKeyPem: other.privateKeyPem, baseUrl: service.url, ca: service.ca });
    try {
      await expect(impostor.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry' });
      expect(service.requests.map((r) => r.reason)).toEqual(['InvalidProviderToken', 'InvalidProviderToken']);
    } finally {
      await impostor.close();
    }
  });

  it('maps 410 Unregistered and 400 BadDeviceToken / DeviceTokenNotForTopic to gone', async () => {
    service.respondWith({ status: 410, reason: 'Unregistered' }, { status: 400, reason: 'DeviceTokenNotForTopic' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'gone' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'gone' });
    // A token that is not hex is refused by the service itself.
    await expect(sender.send({ kind: 'apns', token: 'not-a-device-token' }, message, opts)).resolves.toEqual({ status: 'gone' });
    expect(service.requests.map((r) => r.reason)).toEqual(['Unregistered', 'DeviceTokenNotForTopic', 'BadDeviceToken']);
  });

  it('maps 429 with Retry-After to retry after that delay, and 503 / 500 to retry', async () => {
    service.respondWith(
      { status: 429, reason: 'TooManyRequests', headers: { 'retry-after': '7' } },
      { status: 503, reason: 'ServiceUnavailable' },
      { status: 500, reason: 'InternalServerError' },
    );
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'retry', afterMs: 7000, reason: 'apns: 429 TooManyRequests' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'retry', reason: 'apns: 503 ServiceUnavailable' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'retry', reason: 'apns: 500 InternalServerError' });
  });

  it('maps other refusals to rejected with the reason', async () => {
    service.respondWith({ status: 400, reason: 'BadTopic' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'rejected', reason: 'apns: 400 BadTopic' });
    const wrongTopic = new ApnsSender({ teamId, keyId, bundleId: 'org.example.other', privateKeyPem: key.privateKeyPem, baseUrl: service.url, ca: service.ca });
    try {
      await expect(wrongTopic.send(registration, message, opts)).resolves.toEqual({ status: 'rejected', reason: 'apns: 400 TopicDisallowed' });
    } finally {
      await wrongTopic.close();
    }
    await expect(sender.send({ kind: 'fcm', token: 'x' }, message, opts)).resolves.toMatchObject({ status: 'rejected' });
  });

  it('opens a new connection after the server drops the old one', async () => {
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    service.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    expect(service.connections()).toBe(2);
  });

  it('answers retry when the service is down, and recovers when it is back', async () => {
    // A port with nothing listening.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const down = new ApnsSender({ teamId, keyId, bundleId, privateKeyPem: key.privateKeyPem, baseUrl: `https://127.0.0.1:${port}`, ca: service.ca, timeoutMs: 1_000 });
    try {
      const outcome = await down.send(registration, message, opts);
      expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^apns: /) });
    } finally {
      await down.close();
    }

    // And a sender whose connection dies with the service.
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    await service.close();
    await expect(sender.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry' });
    service = await startApnsService({ teamId, keyId, bundleId, publicKey: key.publicKey });
  });

  it('refuses a certificate it does not trust (answers retry, sends nothing)', async () => {
    const untrusting = new ApnsSender({ teamId, keyId, bundleId, privateKeyPem: key.privateKeyPem, baseUrl: service.url, timeoutMs: 1_000 });
    try {
      await expect(untrusting.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry' });
      expect(service.requests).toHaveLength(0);
    } finally {
      await untrusting.close();
    }
  });

  it('rejects a signing key that is not P-256', () => {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => new ApnsSender({ teamId, keyId, bundleId, privateKeyPem: rsa })).toThrow(/P-256/);
  });
});
