import { createECDH } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushPayload, PushRegistration } from '../../push/push-sender.js';
import { decryptRfc8291, newSubscription, startWebPushService, type WebPushService, type WebPushSubscription } from '../../../test/support/push-services.js';
import { loadOrCreateVapidKeys, resolveVapidKeys, vapidKeysFrom, type VapidKeys } from './vapid-keys.js';
import { MAX_WEB_PUSH_PAYLOAD_BYTES, WebPushSender, webPushTopic } from './web-push-sender.js';
import { parseRetryAfter } from '../../push/push-format.js';

const SUBJECT = 'mailto:ops@example.com';
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'confab-vapid-'));
  dirs.push(dir);
  return dir;
}

function registration(sub: WebPushSubscription): PushRegistration {
  return { kind: 'webpush', endpoint: sub.endpoint, keys: sub.keys };
}

const message: PushPayload = {
  type: 'message',
  channelId: 'ch_01J9ZK6Q3V',
  count: 3,
  senderId: 'u_ana',
  senderName: 'Ana María ✓',
  channelName: null,
  preview: 'see you at 8 👋 — "quotes" & <tags>',
  seq: 4211,
};
const OPTS = { ttlSeconds: 3600, collapseKey: 'channel:ch_01J9ZK6Q3V' };

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('WebPushSender against a local Web Push service', () => {
  let service: WebPushService;
  let dataDir: string;
  let keys: VapidKeys;
  let agent: Agent;
  let sender: WebPushSender;

  beforeAll(async () => {
    service = await startWebPushService();
    dataDir = tempDir();
    keys = loadOrCreateVapidKeys(dataDir, SUBJECT);
    agent = new Agent({ ca: service.ca, keepAlive: true });
    sender = new WebPushSender({ keys, agent, timeoutMs: 2_000 });
  });

  afterEach(() => {
    service.respondWith(null);
    service.received.length = 0;
    service.errors.length = 0;
  });

  afterAll(async () => {
    await sender.close();
    agent.destroy();
    await service.close();
  });

  it('delivers the payload encrypted for the subscription and signed with the persisted VAPID key pair', async () => {
    const sub = newSubscription(service);
    const before = Math.floor(Date.now() / 1000);

    expect(await sender.send(registration(sub), message, OPTS)).toEqual({ status: 'sent' });

    expect(service.errors).toEqual([]);
    expect(service.received).toHaveLength(1);
    const push = service.received[0]!;
    expect(push.path).toBe(new URL(sub.endpoint).pathname);
    expect(push.payload).toEqual(message); // decrypted by http_ece and by the RFC 8291 steps alike
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(push.ttl).toBe(3600);
    expect(push.urgency).toBe('high');
    expect(push.topic).toBe(webPushTopic(OPTS.collapseKey));
    expect(push.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(push.topic).not.toContain('ch_01J9ZK6Q3V');

    // The service checked the ES256 signature with `k`; `k` is the key Confab keeps on disk.
    const stored = JSON.parse(readFileSync(join(dataDir, 'vapid.json'), 'utf8')) as { publicKey: string; privateKey: string };
    expect(push.vapidPublicKey).toBe(stored.publicKey);
    expect(push.vapidPublicKey).toBe(keys.publicKey);
    expect(push.vapidClaims.aud).toBe(service.url);
    expect(push.vapidClaims.sub).toBe(SUBJECT);
    expect(push.vapidClaims.exp).toBeGreaterThan(before);
    expect(push.vapidClaims.exp).toBeLessThanOrEqual(before + 24 * 60 * 60 + 1);
  });

  it('marks a read push as less urgent and keeps it under the same topic', async () => {
    const sub = newSubscription(service);
    const read: PushPayload = { type: 'read', channelId: 'ch_01J9ZK6Q3V', seq: 4211 };
    expect(await sender.send(registration(sub), read, { ttlSeconds: 0, collapseKey: OPTS.collapseKey })).toEqual({ status: 'sent' });
    const push = service.received[0]!;
    expect(push.payload).toEqual(read);
    expect(push.urgency).toBe('normal');
    expect(push.ttl).toBe(0);
    expect(push.topic).toBe(webPushTopic(OPTS.collapseKey));
  });

  it('reuses one VAPID token per push service', async () => {
    const a = newSubscription(service);
    const b = newSubscription(service);
    await sender.send(registration(a), message, OPTS);
    await sender.send(registration(b), message, OPTS);
    expect(service.received).toHaveLength(2);
    expect(service.received[1]!.headers.authorization).toBe(service.received[0]!.headers.authorization);
  });

  it('410 and 404 mean the subscription is gone', async () => {
    const sub = newSubscription(service);
    service.respondWith(() => ({ status: 410, body: '{"reason":"Unregistered"}' }));
    expect(await sender.send(registration(sub), message, OPTS)).toEqual({ status: 'gone' });
    service.respondWith(() => ({ status: 404 }));
    expect(await sender.send(registration(sub), message, OPTS)).toEqual({ status: 'gone' });
    // An endpoint the service never issued is answered 404 by the service itself.
    const unknown = { ...registration(sub), endpoint: `${service.url}/push/never-issued` } as PushRegistration;
    expect(await sender.send(unknown, message, OPTS)).toEqual({ status: 'gone' });
  });

  it('429 with Retry-After in seconds means retry after that delay', async () => {
    service.respondWith(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    const outcome = await sender.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome).toMatchObject({ status: 'retry', afterMs: 7000 });
  });

  it('429 with Retry-After as an HTTP date means retry at that time', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    service.respondWith(() => ({ status: 429, headers: { 'retry-after': at } }));
    const outcome = await sender.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome.status).toBe('retry');
    const afterMs = (outcome as { afterMs?: number }).afterMs ?? 0;
    expect(afterMs).toBeGreaterThan(110_000);
    expect(afterMs).toBeLessThanOrEqual(120_000);
  });

  it('503 means retry', async () => {
    service.respondWith(() => ({ status: 503 }));
    const outcome = await sender.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome).toMatchObject({ status: 'retry', reason: 'HTTP 503' });
    expect(outcome).not.toHaveProperty('afterMs');
  });

  it('400 means the request was rejected', async () => {
    service.respondWith(() => ({ status: 400, body: '{"reason":"BadRequest"}' }));
    const outcome = await sender.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome).toEqual({ status: 'rejected', reason: 'HTTP 400: {"reason":"BadRequest"}' });
  });

  it('a push service that never answers is a retry after the timeout', async () => {
    const impatient = new WebPushSender({ keys, agent, timeoutMs: 200 });
    service.respondWith(() => 'no-answer');
    const started = Date.now();
    const outcome = await impatient.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome.status).toBe('retry');
    expect(Date.now() - started).toBeLessThan(1_500);
    await impatient.close();
  });

  it('a push service that is down is a retry', async () => {
    const down = await startWebPushService();
    const sub = newSubscription(down);
    await down.close();
    const outcome = await sender.send(registration(sub), message, OPTS);
    expect(outcome).toEqual({ status: 'retry', reason: 'network: ECONNREFUSED' });
  });

  it('rejects registrations and payloads no push service would take, without sending', async () => {
    const sub = newSubscription(service);
    const cases: [PushRegistration, string][] = [
      [{ ...registration(sub), endpoint: sub.endpoint.replace('https:', 'http:') } as PushRegistration, 'the endpoint is not an https: URL'],
      [{ kind: 'webpush', endpoint: sub.endpoint, keys: { ...sub.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } }, 'keys.p256dh is not an uncompressed P-256 public key'],
      [{ kind: 'webpush', endpoint: sub.endpoint, keys: { ...sub.keys, auth: 'c2hvcnQ' } }, 'keys.auth is not a 16-byte secret'],
      [{ kind: 'apns', token: 'abc' }, 'a apns registration sent to the Web Push sender'],
    ];
    for (const [reg, reason] of cases) {
      expect(await sender.send(reg, message, OPTS)).toEqual({ status: 'rejected', reason });
    }
    const big = { ...message, preview: 'x'.repeat(MAX_WEB_PUSH_PAYLOAD_BYTES) };
    expect(await sender.send(registration(sub), big, OPTS)).toMatchObject({ status: 'rejected' });
    expect(service.received).toHaveLength(0);
  });

  it('fills a push to the 4096-byte limit', async () => {
    const sub = newSubscription(service);
    const base = JSON.stringify({ ...message, preview: '' });
    const full = { ...message, preview: 'x'.repeat(MAX_WEB_PUSH_PAYLOAD_BYTES - Buffer.byteLength(base)) };
    expect(await sender.send(registration(sub), full, OPTS)).toEqual({ status: 'sent' });
    expect(service.received[0]!.payload).toEqual(full);
  });

  it('the service refuses a token not signed by the key it names (its check is real)', async () => {
    const other = webpush.generateVAPIDKeys();
    const forged = new WebPushSender({ keys: { publicKey: other.publicKey, privateKey: keys.privateKey, subject: SUBJECT }, agent });
    const outcome = await forged.send(registration(newSubscription(service)), message, OPTS);
    expect(outcome.status).toBe('rejected');
    expect(service.errors).toEqual(['401 the VAPID JWT signature does not verify with k']);
    expect(service.received).toHaveLength(0);
    await forged.close();
  });

  it('a closed sender asks for a retry', async () => {
    const closed = new WebPushSender({ keys });
    await closed.close();
    expect(await closed.send(registration(newSubscription(service)), message, OPTS)).toEqual({ status: 'retry', reason: 'sender closed' });
  });
});

describe('the local Web Push service', () => {
  it('decrypts the example of RFC 8291 Appendix A', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94', 'base64url'));
    const body = Buffer.from(
      'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
      'base64url',
    );
    const plain = decryptRfc8291(body, { ecdh, publicKey: ecdh.getPublicKey(), authSecret: Buffer.from('BTBZMqHH6r4Tts7J_aSIgg', 'base64url') });
    expect(plain.toString()).toBe('When I grow up, I want to be a watermelon');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('VAPID keys', () => {
  it('are generated once per data directory and reused on later starts', () => {
    const dir = tempDir();
    const first = loadOrCreateVapidKeys(dir, SUBJECT);
    const second = loadOrCreateVapidKeys(dir, 'https://confab.example.org/contact');
    expect(second.publicKey).toBe(first.publicKey);
    expect(second.privateKey).toBe(first.privateKey);
    expect(second.subject).toBe('https://confab.example.org/contact');
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(first.privateKey, 'base64url')).toHaveLength(32);

    const elsewhere = loadOrCreateVapidKeys(tempDir(), SUBJECT);
    expect(elsewhere.publicKey).not.toBe(first.publicKey);
    expect(elsewhere.privateKey).not.toBe(first.privateKey);
  });

  it('are kept in vapid.json, readable by the owner only, with no temporary file left', () => {
    const dir = join(tempDir(), 'nested', 'data');
    loadOrCreateVapidKeys(dir, SUBJECT);
    expect(readdirSync(dir)).toEqual(['vapid.json']);
    if (process.platform !== 'win32') expect(statSync(join(dir, 'vapid.json')).mode & 0o777).toBe(0o600);
  });

  it('refuse a damaged file instead of replacing the pair', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vapid.json'), '{"publicKey": "BCVx');
    expect(() => loadOrCreateVapidKeys(dir, SUBJECT)).toThrow(/not valid JSON/);
    expect(readFileSync(join(dir, 'vapid.json'), 'utf8')).toBe('{"publicKey": "BCVx');
  });

  it('can be given explicitly, for nodes that must share one pair', () => {
    const pair = webpush.generateVAPIDKeys();
    expect(vapidKeysFrom(pair.publicKey, pair.privateKey, SUBJECT)).toEqual({ ...pair, subject: SUBJECT });
    const dir = tempDir();
    expect(resolveVapidKeys({ dataDir: dir, subject: SUBJECT, ...pair }).publicKey).toBe(pair.publicKey);
    expect(readdirSync(dir)).toEqual([]);
    expect(resolveVapidKeys({ dataDir: dir, subject: SUBJECT }).publicKey).not.toBe(pair.publicKey);

    const other = webpush.generateVAPIDKeys();
    expect(() => vapidKeysFrom(other.publicKey, pair.privateKey, SUBJECT)).toThrow(/does not belong/);
    expect(() => vapidKeysFrom('short', pair.privateKey, SUBJECT)).toThrow(/public key/);
    expect(() => resolveVapidKeys({ dataDir: dir, subject: SUBJECT, publicKey: pair.publicKey })).toThrow(/both/);
  });

  it('need a subject the push services accept', () => {
    const pair = webpush.generateVAPIDKeys();
    for (const bad of ['ops@example.com', 'http://example.com', 'mailto:ops@localhost', 'https://confab.local', 'mailto:nobody']) {
      expect(() => vapidKeysFrom(pair.publicKey, pair.privateKey, bad), bad).toThrow(/VAPID subject/);
    }
  });
});
