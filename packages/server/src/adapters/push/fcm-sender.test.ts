import crypto from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateServiceAccountKey, startFcmService, type FcmService, SAMPLE_MESSAGE, SAMPLE_READ } from '../../../test/support/push-http2.js';
import { FcmSender, type FcmServiceAccount } from './fcm-sender.js';

const projectId = 'confab-test';
const clientEmail = 'push@confab-test.iam.gserviceaccount.com';
const registration = { kind: 'fcm' as const, token: 'fcm-device-token:APA91b-abc_123' };
const opts = { ttlSeconds: 3600, collapseKey: 'ch_general' };

const message = SAMPLE_MESSAGE;
const read = SAMPLE_READ;

describe('FcmSender', () => {
  let key: { privateKeyPem: string; publicKey: crypto.KeyObject };
  let service: FcmService;
  let account: FcmServiceAccount;
  let sender: FcmSender;

  beforeAll(async () => {
    key = await generateServiceAccountKey();
  });

  beforeEach(async () => {
    service = await startFcmService({ projectId, clientEmail, publicKey: key.publicKey });
    account = { project_id: projectId, client_email: clientEmail, private_key: key.privateKeyPem, token_uri: service.tokenUri };
    sender = new FcmSender({ serviceAccount: account, baseUrl: service.url, timeoutMs: 2_000 });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await sender.close();
    await service.close();
  });

  it('exchanges a valid RS256 assertion for an access token and sends a notification message', async () => {
    const before = Math.floor(Date.now() / 1000);
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });

    expect(service.tokenRequests).toHaveLength(1);
    const grant = service.tokenRequests[0]!;
    expect(grant.status).toBe(200);
    expect(grant.assertionHeader).toMatchObject({ alg: 'RS256' });
    expect(grant.claims).toEqual({
      iss: clientEmail,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: service.tokenUri,
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(grant.claims.iat).toBeGreaterThanOrEqual(before);
    expect(Number(grant.claims.exp) - Number(grant.claims.iat)).toBe(3600);

    expect(service.requests).toHaveLength(1);
    const request = service.requests[0]!;
    expect(request.status).toBe(200);
    expect(request.path).toBe(`/v1/projects/${projectId}/messages:send`);
    expect(request.headers.authorization).toBe(`Bearer ${grant.accessToken}`);
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.body).toEqual({
      message: {
        token: registration.token,
        android: { priority: 'high', ttl: '3600s', collapse_key: 'ch_general' },
        data: {
          type: 'message',
          channelId: 'ch_general',
          count: '3',
          senderId: 'u_alice',
          senderName: 'Alice',
          channelName: 'general',
          preview: 'lunch at noon?',
          seq: '42',
        },
        notification: { title: 'general', body: 'Alice: lunch at noon?' },
      },
    });
  });

  it('sends a read push as a data-only message at normal priority', async () => {
    await expect(sender.send(registration, { ...read, channelName: null }, opts)).resolves.toEqual({ status: 'sent' });
    expect(service.requests[0]!.body).toEqual({
      message: {
        token: registration.token,
        android: { priority: 'normal', ttl: '3600s', collapse_key: 'ch_general' },
        data: { type: 'read', channelId: 'ch_general', seq: '42' },
      },
    });
  });

  it('fetches the access token once and reuses it, also for concurrent sends', async () => {
    await Promise.all([1, 2, 3].map(() => sender.send(registration, message, opts)));
    await sender.send(registration, read, opts);
    expect(service.tokenRequests).toHaveLength(1);
    expect(service.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(service.requests.map((r) => r.accessToken)).size).toBe(1);
  });

  it('fetches a new access token five minutes before the old one expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    await sender.send(registration, message, opts);
    vi.setSystemTime(start + 54 * 60_000); // expires_in 3599 s: still more than five minutes left
    await sender.send(registration, message, opts);
    expect(service.tokenRequests).toHaveLength(1);
    vi.setSystemTime(start + 56 * 60_000);
    await sender.send(registration, message, opts);
    expect(service.tokenRequests).toHaveLength(2);
    const [a, b, c] = service.requests;
    expect(b!.accessToken).toBe(a!.accessToken);
    expect(c!.accessToken).not.toBe(a!.accessToken);
    expect(service.requests.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('drops the cached token on 401, fetches a new one and sends again once', async () => {
    await sender.send(registration, message, opts);
    service.revokeTokens();
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    await sender.send(registration, message, opts);

    expect(service.tokenRequests).toHaveLength(2);
    const [first, refused, retried, later] = service.requests;
    expect(refused!.status).toBe(401);
    expect(refused!.accessToken).toBe(first!.accessToken);
    expect(retried!.status).toBe(200);
    expect(retried!.accessToken).toBe(service.tokenRequests[1]!.accessToken);
    expect(later!.accessToken).toBe(retried!.accessToken);
  });

  it('answers retry when a fresh token is refused too, without looping', async () => {
    service.respondWith({ status: 401 }, { status: 401 });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'retry', reason: 'fcm: 401 with a freshly issued access token' });
    expect(service.tokenRequests).toHaveLength(2);
    expect(service.requests.map((r) => r.status)).toEqual([401, 401]);
    expect(service.requests[1]!.accessToken).not.toBe(service.requests[0]!.accessToken);
  });

  it('maps 404 UNREGISTERED and an invalid token to gone', async () => {
    service.respondWith(
      { status: 404, errorCode: 'UNREGISTERED', message: 'Requested entity was not found.' },
      { status: 400, errorCode: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token', field: 'message.token' },
    );
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'gone' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'gone' });
    // An empty token is refused by the service itself, naming message.token.
    await expect(sender.send({ kind: 'fcm', token: '' }, message, opts)).resolves.toEqual({ status: 'gone' });
  });

  it('keeps a registration whose request failed for another INVALID_ARGUMENT (rejected, not gone)', async () => {
    service.respondWith({ status: 400, errorCode: 'INVALID_ARGUMENT', message: "Invalid value at 'message.android.ttl'", field: 'message.android.ttl' });
    await expect(sender.send(registration, message, opts)).resolves.toEqual({
      status: 'rejected',
      reason: "fcm: 400 INVALID_ARGUMENT Invalid value at 'message.android.ttl'",
    });
    service.respondWith({ status: 403, errorCode: 'SENDER_ID_MISMATCH', message: 'SenderId mismatch' });
    await expect(sender.send(registration, message, opts)).resolves.toMatchObject({ status: 'rejected', reason: expect.stringContaining('SENDER_ID_MISMATCH') });
    await expect(sender.send({ kind: 'apns', token: 'ab' }, message, opts)).resolves.toMatchObject({ status: 'rejected' });
  });

  it('maps 429 with Retry-After to retry after that delay, and 503 / 500 to retry', async () => {
    service.respondWith(
      { status: 429, errorCode: 'QUOTA_EXCEEDED', message: 'Quota exceeded', headers: { 'retry-after': '30' } },
      { status: 503, errorCode: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
      { status: 500, errorCode: 'INTERNAL', message: 'Internal error' },
    );
    await expect(sender.send(registration, message, opts)).resolves.toEqual({ status: 'retry', afterMs: 30_000, reason: 'fcm: 429 QUOTA_EXCEEDED Quota exceeded' });
    await expect(sender.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry', reason: expect.stringContaining('503 UNAVAILABLE') });
    await expect(sender.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry', reason: expect.stringContaining('500 INTERNAL') });
  });

  it('answers retry when the service is down', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    // Token endpoint unreachable.
    const noAuth = new FcmSender({ serviceAccount: { ...account, token_uri: `http://127.0.0.1:${port}/token` }, baseUrl: service.url, timeoutMs: 1_000 });
    await expect(noAuth.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry', reason: expect.stringMatching(/^fcm oauth: /) });
    // FCM unreachable.
    const noFcm = new FcmSender({ serviceAccount: account, baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1_000 });
    await expect(noFcm.send(registration, message, opts)).resolves.toMatchObject({ status: 'retry', reason: expect.stringMatching(/^fcm: /) });
  });

  it('a key the service account does not own gets no token (rejected: a configuration error)', async () => {
    const other = await generateServiceAccountKey();
    const impostor = new FcmSender({ serviceAccount: { ...account, private_key: other.privateKeyPem }, baseUrl: service.url });
    await expect(impostor.send(registration, message, opts)).resolves.toEqual({
      status: 'rejected',
      reason: 'fcm oauth: 400 invalid_grant: Invalid JWT Signature.',
    });
    expect(service.requests).toHaveLength(0);
  });

  it('uses the fetch it is given', async () => {
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    };
    const custom = new FcmSender({ serviceAccount: account, baseUrl: service.url, fetch: counting });
    await expect(custom.send(registration, message, opts)).resolves.toEqual({ status: 'sent' });
    expect(calls).toEqual([service.tokenUri, `${service.url}/v1/projects/${projectId}/messages:send`]);
  });
});
