import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { PushPayload } from '@confab/protocol';
/** The payloads the sender tests push: a coalesced group message and a read. */
export const SAMPLE_MESSAGE: PushPayload = {
  type: 'message',
  channelId: 'ch_general',
  count: 3,
  senderId: 'u_alice',
  senderName: 'Alice',
  channelName: 'general',
  preview: 'lunch at noon?',
  seq: 42,
};
export const SAMPLE_READ: PushPayload = { type: 'read', channelId: 'ch_general', seq: 42 };


/*
 * Local stand-ins for the APNs and FCM services, on loopback, for the push
 * sender tests. They check authentication and request shape the way the real
 * services document it and answer with the real services' status codes and
 * error bodies, so a sender that passes against them speaks the real protocol.
 * Scripted answers (`respondWith`) are given only to requests that pass the
 * checks, in the order they were queued.
 */

// ---------------------------------------------------------------------------
// Keys and a self-signed certificate, made with Node's crypto.

/** A fresh APNs signing key as Apple hands it out: a PKCS#8 PEM P-256 key (.p8). */
export function generateP8Key(): { privateKeyPem: string; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** A fresh service account key pair: the private key as in the JSON key file's `private_key`. */
export async function generateServiceAccountKey(): Promise<{ privateKeyPem: string; publicKey: crypto.KeyObject }> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: crypto.KeyObject; publicKey: crypto.KeyObject }>((resolve, reject) =>
    crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKey }))),
  );
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

// Node can parse X.509 certificates but not issue them, so the certificate is
// assembled here in DER and signed with crypto.sign.
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const length = body.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, ...parts);
const set = (...parts: Buffer[]) => der(0x31, ...parts);
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let n = arc >>> 7; n > 0; n >>>= 7) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}
function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return der(0x17, Buffer.from(text, 'ascii'));
}
function commonName(name: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(name, 'utf8')))));
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, valid for a day. */
export function selfSignedCertificate(name = 'confab test push service'): { key: string; cert: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f | 0x40; // positive, no leading zero byte
  const now = Date.now();
  const extensions = seq(
    // basicConstraints (critical): CA:TRUE, so the certificate can be its own trust anchor.
    seq(oid('2.5.29.19'), der(0x01, Buffer.from([0xff])), der(0x04, seq(der(0x01, Buffer.from([0xff]))))),
    // subjectAltName: IP 127.0.0.1, DNS localhost.
    seq(oid('2.5.29.17'), der(0x04, seq(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost', 'ascii'))))),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    der(0x02, serial),
    ecdsaWithSha256,
    commonName(name),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 24 * 3600_000))),
    commonName(name),
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, extensions),
  );
  const signature = crypto.sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const certificate = seq(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: pem };
}

// ---------------------------------------------------------------------------
// JWT checks shared by both services.

interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

function decodeJwt(jwt: string): DecodedJwt | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  const [header, claims, signature] = parts as [string, string, string];
  try {
    const h: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const c: unknown = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
    if (!h || typeof h !== 'object' || !c || typeof c !== 'object') return undefined;
    return {
      header: h as Record<string, unknown>,
      claims: c as Record<string, unknown>,
      signingInput: Buffer.from(`${header}.${claims}`),
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------
// APNs

export interface ApnsServiceOptions {
  teamId: string;
  keyId: string;
  bundleId: string;
  /** The public half of the .p8 key the sender signs with. */
  publicKey: crypto.KeyObject;
}

export interface ApnsScriptedAnswer {
  status: number;
  reason?: string;
  headers?: Record<string, string>;
}

export interface ApnsRecordedRequest {
  /** Which HTTP/2 connection carried it (1 for the first). */
  connection: number;
  method: string;
  path: string;
  deviceToken: string;
  headers: Record<string, string>;
  body: unknown;
  /** The provider token as sent, and its decoded parts. */
  jwt: string;
  jwtHeader: Record<string, unknown>;
  jwtClaims: Record<string, unknown>;
  /** What the service answered. */
  status: number;
  reason?: string;
}

export interface ApnsService {
  url: string;
  /** The self-signed certificate to trust (PEM). */
  ca: string;
  /** Every request that reached the service, in order, with its answer. */
  requests: ApnsRecordedRequest[];
  /** HTTP/2 connections accepted so far. */
  connections(): number;
  /** Queue answers for the next requests that pass the checks. */
  respondWith(...answers: ApnsScriptedAnswer[]): void;
  /** Drop every open connection, as a restarting server would. */
  dropConnections(): void;
  close(): Promise<void>;
}

const APNS_MAX_PAYLOAD = 4096;
const PUSH_TYPES = new Set(['alert', 'background', 'location', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity', 'pushtotalk']);

export async function startApnsService(options: ApnsServiceOptions): Promise<ApnsService> {
  const { key, cert } = selfSignedCertificate('confab test apns');
  const server = http2.createSecureServer({ key, cert, allowHTTP1: false });
  const sessions = new Set<http2.ServerHttp2Session>();
  const requests: ApnsRecordedRequest[] = [];
  const script: ApnsScriptedAnswer[] = [];
  let connections = 0;
  const sessionIds = new WeakMap<http2.ServerHttp2Session, number>();

  server.on('session', (session) => {
    sessionIds.set(session, ++connections);
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => sessions.delete(session));
  });

  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => {});
    stream.on('end', () => {
      const raw = Buffer.concat(chunks);
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (!name.startsWith(':') && value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      const method = String(headers[':method']);
      const path = String(headers[':path']);
      const deviceToken = path.startsWith('/3/device/') ? decodeURIComponent(path.slice('/3/device/'.length)) : '';
      const authorization = flat.authorization ?? '';
      const jwt = authorization.replace(/^bearer\s+/i, '');
      const decoded = decodeJwt(jwt);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }

      let answer: ApnsScriptedAnswer = check();
      if (answer.status === 200 && script.length > 0) answer = script.shift() as ApnsScriptedAnswer;

      const record: ApnsRecordedRequest = {
        connection: sessionIds.get(stream.session as http2.ServerHttp2Session) ?? 0,
        method,
        path,
        deviceToken,
        headers: flat,
        body,
        jwt,
        jwtHeader: decoded?.header ?? {},
        jwtClaims: decoded?.claims ?? {},
        status: answer.status,
      };
      if (answer.reason !== undefined) record.reason = answer.reason;
      requests.push(record);

      const responseHeaders: http2.OutgoingHttpHeaders = {
        ':status': answer.status,
        'apns-id': crypto.randomUUID().toUpperCase(),
        ...answer.headers,
      };
      if (answer.status === 200) {
        stream.respond(responseHeaders, { endStream: true });
        return;
      }
      responseHeaders['content-type'] = 'application/json';
      stream.respond(responseHeaders);
      const errorBody: Record<string, unknown> = { reason: answer.reason ?? 'InternalServerError' };
      if (answer.status === 410) errorBody.timestamp = Date.now();
      stream.end(JSON.stringify(errorBody));

      /** The checks APNs documents, in the order it reports them. */
      function check(): ApnsScriptedAnswer {
        if (method !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
        if (!path.startsWith('/3/device/')) return { status: 404, reason: 'BadPath' };
        if (deviceToken === '') return { status: 400, reason: 'MissingDeviceToken' };
        // Provider token: ES256, kid = the key ID, iss = the team ID, iat within the hour.
        if (authorization === '') return { status: 403, reason: 'MissingProviderToken' };
        if (!/^bearer\s+/i.test(authorization) || !decoded) return { status: 403, reason: 'InvalidProviderToken' };
        const { header, claims } = decoded;
        if (header.alg !== 'ES256' || header.kid !== options.keyId) return { status: 403, reason: 'InvalidProviderToken' };
        if (claims.iss !== options.teamId || typeof claims.iat !== 'number' || !Number.isInteger(claims.iat)) {
          return { status: 403, reason: 'InvalidProviderToken' };
        }
        const signed =
          decoded.signature.length === 64 &&
          crypto.verify('sha256', decoded.signingInput, { key: options.publicKey, dsaEncoding: 'ieee-p1363' }, decoded.signature);
        if (!signed) return { status: 403, reason: 'InvalidProviderToken' };
        if (claims.iat > nowSeconds() + 60) return { status: 403, reason: 'InvalidProviderToken' };
        if (nowSeconds() - claims.iat > 3600) return { status: 403, reason: 'ExpiredProviderToken' };
        // Headers.
        const topic = flat['apns-topic'];
        if (topic === undefined) return { status: 400, reason: 'MissingTopic' };
        if (topic !== options.bundleId) return { status: 400, reason: 'TopicDisallowed' };
        const pushType = flat['apns-push-type'];
        if (pushType === undefined || !PUSH_TYPES.has(pushType)) return { status: 400, reason: 'InvalidPushType' };
        const priority = flat['apns-priority'];
        if (priority !== undefined && !['10', '5', '1'].includes(priority)) return { status: 400, reason: 'BadPriority' };
        // Background pushes must be sent with priority 5.
        if (pushType === 'background' && priority !== '5') return { status: 400, reason: 'BadPriority' };
        const expiration = flat['apns-expiration'];
        if (expiration !== undefined && !/^\d+$/.test(expiration)) return { status: 400, reason: 'BadExpirationDate' };
        const collapse = flat['apns-collapse-id'];
        if (collapse !== undefined && Buffer.byteLength(collapse) > 64) return { status: 400, reason: 'BadCollapseId' };
        if (!/^[0-9a-f]+$/i.test(deviceToken)) return { status: 400, reason: 'BadDeviceToken' };
        // Payload: a JSON dictionary with an `aps` dictionary, at most 4 KB.
        if (raw.length === 0) return { status: 400, reason: 'PayloadEmpty' };
        if (raw.length > APNS_MAX_PAYLOAD) return { status: 413, reason: 'PayloadTooLarge' };
        if (!body || typeof body !== 'object' || !('aps' in body)) return { status: 400, reason: 'BadPayload' };
        const aps = (body as { aps: unknown }).aps;
        if (!aps || typeof aps !== 'object') return { status: 400, reason: 'BadPayload' };
        const a = aps as Record<string, unknown>;
        if (pushType === 'background') {
          // A background notification carries content-available and nothing the user would see.
          if (a['content-available'] !== 1 || 'alert' in a || 'sound' in a || 'badge' in a) return { status: 400, reason: 'BadPayload' };
        }
        if (pushType === 'alert' && !('alert' in a)) return { status: 400, reason: 'BadPayload' };
        return { status: 200 };
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    ca: cert,
    requests,
    connections: () => connections,
    respondWith: (...answers) => script.push(...answers),
    dropConnections: () => {
      for (const session of sessions) session.destroy();
      sessions.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        sessions.clear();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------
// FCM (the OAuth2 token endpoint and the HTTP v1 messages:send endpoint)

export interface FcmServiceOptions {
  projectId: string;
  clientEmail: string;
  /** The public half of the service account key. */
  publicKey: crypto.KeyObject;
  /** `expires_in` of the access tokens it issues. Default 3599, as Google's. */
  expiresInSeconds?: number;
}

export interface FcmScriptedAnswer {
  status: number;
  /** The FcmError detail's errorCode (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED...). */
  errorCode?: string;
  message?: string;
  /** Adds a BadRequest detail naming this field (as FCM does for `message.token`). */
  field?: string;
  headers?: Record<string, string>;
}

export interface FcmTokenRequest {
  assertionHeader: Record<string, unknown>;
  claims: Record<string, unknown>;
  status: number;
  /** The access token issued, when it was. */
  accessToken?: string;
}

export interface FcmRecordedRequest {
  path: string;
  headers: Record<string, string>;
  body: unknown;
  accessToken: string;
  status: number;
  errorCode?: string;
}

export interface FcmService {
  url: string;
  /** The token endpoint, for the service account's `token_uri`. */
  tokenUri: string;
  tokenRequests: FcmTokenRequest[];
  requests: FcmRecordedRequest[];
  /** Queue answers for the next messages:send requests that pass the checks. */
  respondWith(...answers: FcmScriptedAnswer[]): void;
  /** Invalidate every access token issued so far (the next send gets a 401). */
  revokeTokens(): void;
  close(): Promise<void>;
}

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const CANONICAL_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};
const MESSAGE_FIELDS = new Set(['name', 'token', 'topic', 'condition', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options']);
const ANDROID_FIELDS = new Set(['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data', 'notification', 'fcm_options', 'direct_boot_ok']);
const NOTIFICATION_FIELDS = new Set(['title', 'body', 'image']);
const RESERVED_DATA_KEY = /^(from|notification|message_type)$|^(google|gcm)/;

export async function startFcmService(options: FcmServiceOptions): Promise<FcmService> {
  const tokenRequests: FcmTokenRequest[] = [];
  const requests: FcmRecordedRequest[] = [];
  const script: FcmScriptedAnswer[] = [];
  const issued = new Map<string, number>(); // access token -> expiry (ms)
  let tokenUri = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
        res.end(JSON.stringify(body));
      };

      if (req.method === 'POST' && url.pathname === '/token') {
        const answer = tokenEndpoint(req, raw);
        json(answer.status, answer.body);
        return;
      }
      const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
      if (req.method === 'POST' && match) {
        const accessToken = (req.headers.authorization ?? '').replace(/^Bearer\s+/, '');
        let answer = sendEndpoint(decodeURIComponent(match[1] ?? ''), req, raw, accessToken);
        if (answer.status === 200 && script.length > 0) answer = script.shift() as FcmScriptedAnswer;
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const record: FcmRecordedRequest = { path: url.pathname, headers: flatten(req.headers), body, accessToken, status: answer.status };
        if (answer.errorCode !== undefined) record.errorCode = answer.errorCode;
        requests.push(record);
        if (answer.status === 200) {
          json(200, { name: `projects/${options.projectId}/messages/0:${Date.now()}%${crypto.randomBytes(8).toString('hex')}` }, answer.headers);
          return;
        }
        json(answer.status, errorBody(answer), answer.headers);
        return;
      }
      json(404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
    });
  });

  function tokenEndpoint(req: http.IncomingMessage, raw: string): { status: number; body: unknown } {
    const record: FcmTokenRequest = { assertionHeader: {}, claims: {}, status: 400 };
    tokenRequests.push(record);
    const fail = (status: number, error: string, description: string) => {
      record.status = status;
      return { status, body: { error, error_description: description } };
    };
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return fail(400, 'invalid_request', 'Expected application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return fail(400, 'unsupported_grant_type', 'Invalid grant_type');
    const decoded = decodeJwt(form.get('assertion') ?? '');
    if (!decoded) return fail(400, 'invalid_grant', 'Invalid JWT: malformed');
    record.assertionHeader = decoded.header;
    record.claims = decoded.claims;
    const { header, claims } = decoded;
    if (header.alg !== 'RS256' || !crypto.verify('sha256', decoded.signingInput, options.publicKey, decoded.signature)) {
      return fail(400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    if (claims.iss !== options.clientEmail) return fail(400, 'invalid_grant', 'Invalid issuer');
    if (claims.aud !== tokenUri) return fail(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(FCM_SCOPE)) return fail(400, 'invalid_scope', 'Missing the firebase.messaging scope');
    const { iat, exp } = claims;
    const now = nowSeconds();
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || exp <= now || iat > now + 60) {
      return fail(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    const expiresIn = options.expiresInSeconds ?? 3599;
    const accessToken = `ya29.${crypto.randomBytes(24).toString('base64url')}`;
    issued.set(accessToken, Date.now() + expiresIn * 1000);
    record.status = 200;
    record.accessToken = accessToken;
    return { status: 200, body: { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer' } };
  }

  function sendEndpoint(projectId: string, req: http.IncomingMessage, raw: string, accessToken: string): FcmScriptedAnswer {
    const expiry = issued.get(accessToken);
    if (!/^Bearer\s+/.test(req.headers.authorization ?? '') || expiry === undefined || expiry <= Date.now()) {
      return { status: 401, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.' };
    }
    if (projectId !== options.projectId) return { status: 403, message: `Permission denied on project ${projectId}` };
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return { status: 400, message: 'Invalid JSON payload received.' };
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return { status: 400, message: 'Invalid JSON payload received.' };
    }
    const invalid = (message: string, field?: string): FcmScriptedAnswer =>
      field === undefined ? { status: 400, errorCode: 'INVALID_ARGUMENT', message } : { status: 400, errorCode: 'INVALID_ARGUMENT', message, field };
    if (!isObject(body) || Object.keys(body).length !== 1 || !isObject(body.message)) return invalid('Invalid JSON payload received. Expected {"message": {...}}.');
    const message = body.message;
    const unknown = Object.keys(message).find((k) => !MESSAGE_FIELDS.has(k));
    if (unknown !== undefined) return invalid(`Invalid JSON payload received. Unknown name "${unknown}" at 'message'.`);
    const targets = ['token', 'topic', 'condition'].filter((k) => k in message);
    if (targets.length !== 1) return invalid('Exactly one of token, topic or condition must be set.');
    if (typeof message.token !== 'string' || message.token === '') return invalid('The registration token is not a valid FCM registration token', 'message.token');
    if (message.data !== undefined) {
      if (!isObject(message.data)) return invalid('Invalid value at message.data');
      for (const [key, value] of Object.entries(message.data)) {
        if (typeof value !== 'string') return invalid(`Invalid value at 'message.data[${key}].value' (TYPE_STRING)`, `message.data[${key}].value`);
        if (RESERVED_DATA_KEY.test(key)) return invalid(`Invalid data payload key: ${key}`, 'message.data');
      }
    }
    if (message.notification !== undefined) {
      if (!isObject(message.notification)) return invalid('Invalid value at message.notification');
      for (const [key, value] of Object.entries(message.notification)) {
        if (!NOTIFICATION_FIELDS.has(key)) return invalid(`Unknown name "${key}" at 'message.notification'.`);
        if (typeof value !== 'string') return invalid(`Invalid value at 'message.notification.${key}' (TYPE_STRING)`);
      }
    }
    if (message.android !== undefined) {
      if (!isObject(message.android)) return invalid('Invalid value at message.android');
      const android = message.android;
      const unknownAndroid = Object.keys(android).find((k) => !ANDROID_FIELDS.has(k));
      if (unknownAndroid !== undefined) return invalid(`Unknown name "${unknownAndroid}" at 'message.android'.`);
      if (android.priority !== undefined && !['high', 'normal', 'HIGH', 'NORMAL'].includes(String(android.priority))) {
        return invalid("Invalid value at 'message.android.priority'", 'message.android.priority');
      }
      if (android.ttl !== undefined && (typeof android.ttl !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(android.ttl))) {
        return invalid("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)", 'message.android.ttl');
      }
      if (android.collapse_key !== undefined && typeof android.collapse_key !== 'string') return invalid("Invalid value at 'message.android.collapse_key'");
    }
    if (Buffer.byteLength(raw) > 4096 * 2) return invalid('Message is too big');
    return { status: 200 };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  tokenUri = `${url}/token`;

  return {
    url,
    tokenUri,
    tokenRequests,
    requests,
    respondWith: (...answers) => script.push(...answers),
    revokeTokens: () => issued.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An error body in the shape of the FCM HTTP v1 API. */
function errorBody(answer: FcmScriptedAnswer): unknown {
  const details: unknown[] = [];
  if (answer.errorCode !== undefined) {
    details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: answer.errorCode });
  }
  if (answer.field !== undefined) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: answer.field, description: answer.message ?? 'Invalid value' }] });
  }
  const error: Record<string, unknown> = {
    code: answer.status,
    message: answer.message ?? (answer.status === 404 ? 'Requested entity was not found.' : 'Error'),
    status: CANONICAL_STATUS[answer.status] ?? 'UNKNOWN',
  };
  if (details.length > 0) error.details = details;
  return { error };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function flatten(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}
