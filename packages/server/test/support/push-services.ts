import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

/*
 * A local Web Push service (RFC 8030) for tests, strict the way the browser
 * vendors' services are: every request must carry a valid VAPID (RFC 8292)
 * Authorization, `Content-Encoding: aes128gcm`, a TTL, and a body the
 * subscription's user agent can decrypt (RFC 8291).
 *
 * Nothing here uses web-push's code. The VAPID JWT is verified with Node's
 * crypto against the `k` key in the header. The body is decrypted twice: with
 * the `http_ece` package (the reference implementation of RFC 8188) and with
 * the RFC 8291 steps written out below on Node's crypto, and the two must
 * agree. web-push itself encrypts with http_ece, so the second decryption is
 * the one that does not share code with the sender.
 *
 * It listens on https://127.0.0.1:<port 0> with a self-signed certificate
 * made at start (web-push only speaks HTTPS, as real push services do);
 * `ca` is that certificate, for the sender's `https.Agent`.
 */

interface Ece {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }): Buffer;
}
// http_ece ships no type declarations.
const ece = createRequire(import.meta.url)('http_ece') as Ece;

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  [claim: string]: unknown;
}

export interface ReceivedPush {
  path: string;
  headers: IncomingHttpHeaders;
  /** The decrypted body, parsed as JSON (the raw text when it is not JSON). */
  payload: unknown;
  text: string;
  vapidClaims: VapidClaims;
  /** The `k` parameter of the Authorization header: the sender's VAPID public key. */
  vapidPublicKey: string;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  /** When it arrived (ms epoch). */
  receivedAt: number;
}

export type PushServiceReply =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Accept the request and never answer (the sender's timeout must end it). */
  | 'no-answer';

export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebPushService {
  /** The service's origin, e.g. `https://127.0.0.1:43123`. */
  url: string;
  /** PEM of the service's self-signed certificate; trust it through `new https.Agent({ ca })`. */
  ca: string;
  /** Pushes that passed every check, in arrival order (also those answered with an error status by `respondWith`). */
  received: ReceivedPush[];
  /** Requests refused because they would not pass a real push service, with the reason. */
  errors: string[];
  /** Chooses the answer to each accepted push; `null` restores the default `201 Created`. */
  respondWith(fn: ((push: ReceivedPush) => PushServiceReply) | null): void;
  /** A fresh subscription on this service; the service keeps the user agent's private key. */
  subscribe(): WebPushSubscription;
  close(): Promise<void>;
}

/** Web Push services refuse bodies over 4096 bytes (RFC 8030 §7.2 lets them; all the big ones do). */
const MAX_BODY = 4096;
const MAX_JWT_LIFETIME_S = 24 * 60 * 60;

export interface UserAgentKeys {
  ecdh: ECDH;
  publicKey: Buffer;
  authSecret: Buffer;
}

class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startWebPushService(): Promise<WebPushService> {
  const { key, cert } = selfSignedCertificate();
  const subscriptions = new Map<string, UserAgentKeys>();
  const received: ReceivedPush[] = [];
  const errors: string[] = [];
  let reply: ((push: ReceivedPush) => PushServiceReply) | null = null;
  let origin = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST') throw new Refusal(405, `method ${req.method} not allowed`);
      const path = new URL(req.url ?? '/', origin).pathname;
      const body = await readBody(req);
      const ua = subscriptions.get(path);
      if (!ua) throw new Refusal(404, `no subscription at ${path}`);
      const { claims, publicKey } = verifyVapid(req.headers.authorization, origin);
      if (req.headers['content-encoding'] !== 'aes128gcm') {
        throw new Refusal(400, `Content-Encoding must be aes128gcm, got ${String(req.headers['content-encoding'])}`);
      }
      const ttl = parseTtl(req.headers.ttl);
      const urgency = header(req.headers.urgency);
      if (urgency !== undefined && !['very-low', 'low', 'normal', 'high'].includes(urgency)) {
        throw new Refusal(400, `invalid Urgency ${urgency}`);
      }
      const topic = header(req.headers.topic);
      if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
        throw new Refusal(400, `invalid Topic ${JSON.stringify(topic)}`);
      }
      const plaintext = decryptRfc8291(body, ua);
      let byEce: Buffer;
      try {
        byEce = ece.decrypt(body, { version: 'aes128gcm', privateKey: ua.ecdh, authSecret: ua.authSecret });
      } catch (err) {
        throw new Refusal(400, `http_ece could not decrypt: ${(err as Error).message}`);
      }
      if (!byEce.equals(plaintext)) throw new Refusal(400, 'http_ece and RFC 8291 decryption disagree');
      const text = plaintext.toString('utf8');
      let payload: unknown = text;
      try {
        payload = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      const push: ReceivedPush = { path, headers: req.headers, payload, text, vapidClaims: claims, vapidPublicKey: publicKey, ttl, urgency, topic, receivedAt: Date.now() };
      received.push(push);
      const answer: PushServiceReply = reply ? reply(push) : { status: 201 };
      if (answer === 'no-answer') return;
      res.writeHead(answer.status, { ...(answer.status === 201 ? { location: `${origin}/message/${randomBytes(8).toString('hex')}` } : {}), ...answer.headers });
      res.end(answer.body ?? '');
    } catch (err) {
      const status = err instanceof Refusal ? err.status : 500;
      const message = (err as Error).message;
      errors.push(`${status} ${message}`);
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ reason: message }));
    }
  };

  const server: Server = createServer({ key, cert }, (req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    ca: cert,
    received,
    errors,
    respondWith(fn) {
      reply = fn;
    },
    subscribe() {
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const path = `/push/${randomBytes(12).toString('base64url')}`;
      subscriptions.set(path, { ecdh, publicKey, authSecret });
      return { endpoint: origin + path, keys: { p256dh: publicKey.toString('base64url'), auth: authSecret.toString('base64url') } };
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A subscription bound to a fresh user-agent key pair that `service` holds, as `PushManager.subscribe()` would hand out. */
export function newSubscription(service: WebPushService): WebPushSubscription {
  return service.subscribe();
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new Refusal(413, `body of ${size} bytes exceeds ${MAX_BODY}`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function parseTtl(value: string | string[] | undefined): number {
  const raw = header(value);
  if (raw === undefined) throw new Refusal(400, 'TTL header missing');
  if (!/^\d+$/.test(raw.trim())) throw new Refusal(400, `invalid TTL ${JSON.stringify(raw)}`);
  return Number(raw);
}

// --- VAPID (RFC 8292), verified with Node's crypto ---------------------------

function verifyVapid(authorization: string | undefined, origin: string): { claims: VapidClaims; publicKey: string } {
  const match = /^vapid\s+(.*)$/i.exec(authorization ?? '');
  if (!match) throw new Refusal(401, `Authorization must use the vapid scheme, got ${JSON.stringify(authorization)}`);
  const params = new Map<string, string>();
  for (const part of (match[1] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get('t');
  const k = params.get('k');
  if (!token || !k) throw new Refusal(401, 'vapid Authorization needs t= and k=');

  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) throw new Refusal(401, 'k is not an uncompressed P-256 point');
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    throw new Refusal(401, 'k is not a point on P-256');
  }

  const parts = token.split('.');
  if (parts.length !== 3) throw new Refusal(401, 'the VAPID token is not a JWS compact serialization');
  const [head, body, signature] = parts as [string, string, string];
  const jose = parseJson(head, 'JWT header') as { alg?: unknown; typ?: unknown };
  if (jose.alg !== 'ES256') throw new Refusal(401, `JWT alg must be ES256, got ${String(jose.alg)}`);
  const sig = Buffer.from(signature, 'base64url');
  if (sig.length !== 64) throw new Refusal(401, 'an ES256 signature is 64 bytes (r || s)');
  if (!verify('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }, sig)) {
    throw new Refusal(401, 'the VAPID JWT signature does not verify with k');
  }

  const claims = parseJson(body, 'JWT claims') as Partial<VapidClaims>;
  if (claims.aud !== origin) throw new Refusal(401, `JWT aud must be ${origin}, got ${String(claims.aud)}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || !Number.isInteger(claims.exp)) throw new Refusal(401, 'JWT exp must be an integer');
  if (claims.exp <= now) throw new Refusal(401, 'JWT expired');
  if (claims.exp > now + MAX_JWT_LIFETIME_S) throw new Refusal(401, 'JWT exp is more than 24 hours ahead');
  if (typeof claims.sub !== 'string' || !validSubject(claims.sub)) throw new Refusal(401, `JWT sub must be a mailto: or https: URL, got ${String(claims.sub)}`);
  return { claims: claims as VapidClaims, publicKey: k };
}

function validSubject(sub: string): boolean {
  try {
    const url = new URL(sub);
    return (url.protocol === 'mailto:' && url.pathname.includes('@')) || (url.protocol === 'https:' && url.hostname !== '');
  } catch {
    return false;
  }
}

function parseJson(segment: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Refusal(401, `${what} is not a base64url JSON object`);
}

// --- Message encryption (RFC 8291 over RFC 8188 aes128gcm), on Node's crypto --

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** RFC 8291 decryption for the user agent `ua`; exported so a test can check it against the RFC's Appendix A example. */
export function decryptRfc8291(body: Buffer, ua: UserAgentKeys): Buffer {
  // RFC 8188 §2.1 header: salt (16) | rs (uint32) | idlen (1) | keyid (idlen)
  if (body.length < 21) throw new Refusal(400, 'body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  if (rs < 18) throw new Refusal(400, `record size ${rs} is below 18`);
  // RFC 8291 §4: keyid is the application server's ephemeral public key.
  if (idlen !== 65) throw new Refusal(400, `keyid must be the 65-byte sender public key, is ${idlen} bytes`);
  const asPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (records.length === 0) throw new Refusal(400, 'no ciphertext');

  let ecdhSecret: Buffer;
  try {
    ecdhSecret = ua.ecdh.computeSecret(asPublic);
  } catch {
    throw new Refusal(400, 'keyid is not a P-256 public key');
  }
  // RFC 8291 §3.3, §3.4
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0', 'ascii'), ua.publicKey, asPublic]);
  const ikm = hkdf(ecdhSecret, ua.authSecret, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0', 'ascii'), 16);
  const baseNonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0', 'ascii'), 12);

  const out: Buffer[] = [];
  for (let seq = 0, start = 0; start < records.length; seq++, start += rs) {
    const record = records.subarray(start, Math.min(start + rs, records.length));
    const last = start + rs >= records.length;
    if (record.length <= 16) throw new Refusal(400, `record ${seq} is too short`);
    const nonce = Buffer.from(baseNonce);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8); // RFC 8188 §2.3: XOR with the record sequence number
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    } catch {
      throw new Refusal(400, `record ${seq} failed authentication`);
    }
    // RFC 8188 §2: data || delimiter (0x02 last record, 0x01 otherwise) || zero padding
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0 || plain[end] !== (last ? 2 : 1)) throw new Refusal(400, `record ${seq} has a bad padding delimiter`);
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}

// --- A self-signed certificate for 127.0.0.1, built as DER on Node's crypto ---

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return der(0x06, Buffer.from(bytes));
}
function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return der(0x17, Buffer.from(`${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`, 'ascii'));
}

function selfSignedCertificate(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from('127.0.0.1')))));
  const serial = randomBytes(8);
  // A positive INTEGER in minimal DER: the top bit clear (else it would be
  // negative) and the first byte never zero (a leading zero byte before one
  // with its top bit clear is "illegal padding", which OpenSSL refuses).
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const now = Date.now();
  const subjectAltName = seq(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost')));
  const extensions = der(0xa3, seq(
    seq(oid('2.5.29.19'), der(0x01, Buffer.from([0xff])), der(0x04, seq(der(0x01, Buffer.from([0xff]))))), // basicConstraints: critical, CA
    seq(oid('2.5.29.17'), der(0x04, subjectAltName)),
  ));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    ecdsaWithSha256,
    name,
    seq(utcTime(new Date(now - 60 * 60 * 1000)), utcTime(new Date(now + 24 * 60 * 60 * 1000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA-Sig-Value
  const certificate = seq(tbs, ecdsaWithSha256, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const pem = certificate.toString('base64').replace(/.{1,64}/g, '$&\n');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${pem}-----END CERTIFICATE-----\n`,
  };
}
