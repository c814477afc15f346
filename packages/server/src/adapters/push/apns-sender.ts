import crypto from 'node:crypto';
import http2 from 'node:http2';
import type { PushOutcome, PushPayload, PushRegistration, PushSender } from '../../push/push-sender.js';
import { notificationText, parseRetryAfter } from '../../push/push-format.js';

/*
 * APNs delivery over HTTP/2 with token-based (provider JWT) authentication.
 *
 * - One persistent HTTP/2 session to the APNs host, opened on first use and
 *   opened again after it closes, errors or receives GOAWAY.
 * - The provider token is an ES256 JWT signed with the team's .p8 key. APNs
 *   refuses tokens older than an hour and answers 429
 *   TooManyProviderTokenUpdates when a provider re-signs too often, so one
 *   token is reused for 50 minutes. When APNs answers 403
 *   ExpiredProviderToken / InvalidProviderToken the token is re-signed (once
 *   for all requests that carried it) and the request is sent again once.
 */

export interface ApnsSenderOptions {
  /** The 10-character Team ID of the developer account (the JWT `iss`). */
  teamId: string;
  /** The ID of the APNs signing key (the JWT `kid`). */
  keyId: string;
  /** The .p8 file's contents: a PKCS#8 PEM P-256 private key. */
  privateKeyPem: string;
  /** The app's bundle ID, sent as `apns-topic`. */
  bundleId: string;
  /**
   * The APNs origin. Defaults to the production host, or to the sandbox host
   * (for development builds of the app) when `production` is false.
   */
  baseUrl?: string;
  production?: boolean;
  /** Extra trusted CA certificate(s), PEM (tests with a local server). */
  ca?: string;
  /** Upper bound for one request, connection set-up included. Default 10 s. */
  timeoutMs?: number;
}

const PRODUCTION_URL = 'https://api.push.apple.com';
const SANDBOX_URL = 'https://api.sandbox.push.apple.com';
const TOKEN_LIFETIME_MS = 50 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 2_000;
const MAX_COLLAPSE_ID_BYTES = 64;
/** Answers meaning the device token will never be deliverable again. */
const GONE_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic']);
const AUTH_REASONS = new Set(['ExpiredProviderToken', 'InvalidProviderToken']);

interface ApnsRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface ApnsAnswer {
  status: number;
  reason?: string;
  retryAfterMs?: number;
}

export class ApnsSender implements PushSender {
  readonly kind = 'apns' as const;
  private readonly key: crypto.KeyObject;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private token: { jwt: string; issuedAt: number } | undefined;
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;

  constructor(private readonly options: ApnsSenderOptions) {
    this.key = crypto.createPrivateKey(options.privateKeyPem);
    if (this.key.asymmetricKeyType !== 'ec' || this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('APNs signing key must be a P-256 (ES256) private key, as in the .p8 file');
    }
    this.baseUrl = options.baseUrl ?? (options.production === false ? SANDBOX_URL : PRODUCTION_URL);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): Promise<PushOutcome> {
    if (registration.kind !== 'apns') {
      return { status: 'rejected', reason: `apns: cannot deliver to a ${registration.kind} registration` };
    }
    if (this.closed) return { status: 'retry', reason: 'apns: sender is closed' };
    try {
      const request = this.buildRequest(registration.token, payload, opts);
      let jwt = this.providerToken();
      let answer = await this.post(request, jwt);
      if (answer.status === 403 && answer.reason !== undefined && AUTH_REASONS.has(answer.reason)) {
        jwt = this.providerToken(jwt);
        answer = await this.post(request, jwt);
        if (answer.status === 403 && answer.reason !== undefined && AUTH_REASONS.has(answer.reason)) {
          return { status: 'retry', reason: `apns: 403 ${answer.reason} after re-signing the provider token` };
        }
      }
      return classify(answer);
    } catch (err) {
      return { status: 'retry', reason: `apns: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (!session || session.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(), CLOSE_GRACE_MS);
      session.close(() => {
        clearTimeout(timer);
        resolve();
      });
      session.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private buildRequest(deviceToken: string, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): ApnsRequest {
    const ttl = Math.max(0, Math.floor(opts.ttlSeconds));
    // 0 tells APNs to try once and not store the notification.
    const expiration = ttl === 0 ? 0 : Math.floor(Date.now() / 1000) + ttl;
    const headers: Record<string, string> = {
      'apns-topic': this.options.bundleId,
      'apns-expiration': String(expiration),
      'apns-collapse-id': collapseId(opts.collapseKey),
    };
    let body: unknown;
    if (payload.type === 'read') {
      // A background (silent) push: the app wakes and clears the channel's notifications.
      headers['apns-push-type'] = 'background';
      headers['apns-priority'] = '5';
      body = { aps: { 'content-available': 1 }, confab: payload };
    } else {
      headers['apns-push-type'] = 'alert';
      headers['apns-priority'] = '10';
      const aps: Record<string, unknown> = {
        alert: notificationText(payload),
        'thread-id': payload.channelId,
        sound: 'default',
        'mutable-content': 1,
      };
      if (payload.count !== undefined) aps.badge = payload.count;
      body = { aps, confab: payload };
    }
    return { path: `/3/device/${encodeURIComponent(deviceToken)}`, headers, body: Buffer.from(JSON.stringify(body)) };
  }

  /**
   * The current provider token, signed anew when it is 50 minutes old, or when
   * `rejected` (a token APNs refused) is still the current one: concurrent
   * requests refused with the same token cause one re-signing, not many.
   */
  private providerToken(rejected?: string): string {
    const now = Date.now();
    const current = this.token;
    if (current && current.jwt !== rejected && now >= current.issuedAt && now - current.issuedAt < TOKEN_LIFETIME_MS) {
      return current.jwt;
    }
    const header = base64url(JSON.stringify({ alg: 'ES256', kid: this.options.keyId }));
    const claims = base64url(JSON.stringify({ iss: this.options.teamId, iat: Math.floor(now / 1000) }));
    const signingInput = `${header}.${claims}`;
    const signature = crypto.sign('sha256', Buffer.from(signingInput), { key: this.key, dsaEncoding: 'ieee-p1363' });
    const jwt = `${signingInput}.${signature.toString('base64url')}`;
    this.token = { jwt, issuedAt: now };
    return jwt;
  }

  private connect(): http2.ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.baseUrl, this.options.ca !== undefined ? { ca: this.options.ca } : {});
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    // Errors reach the streams that were open on the session; the listener
    // keeps them from being unhandled and drops the session for the next send.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.session = session;
    return session;
  }

  private post(request: ApnsRequest, jwt: string): Promise<ApnsAnswer> {
    return new Promise<ApnsAnswer>((resolve, reject) => {
      let settled = false;
      let stream: http2.ClientHttp2Stream | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)));
        stream?.close(http2.constants.NGHTTP2_CANCEL);
      }, this.timeoutMs);
      try {
        stream = this.connect().request({
          ':method': 'POST',
          ':path': request.path,
          authorization: `bearer ${jwt}`,
          'content-type': 'application/json',
          'content-length': String(request.body.length),
          ...request.headers,
        });
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        const value = headers['retry-after'];
        retryAfter = Array.isArray(value) ? value[0] : value;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        finish(() => {
          if (status === 0) {
            reject(new Error('stream ended without a response'));
            return;
          }
          const answer: ApnsAnswer = { status };
          const reason = reasonOf(Buffer.concat(chunks).toString('utf8'));
          if (reason !== undefined) answer.reason = reason;
          const retryAfterMs = parseRetryAfter(retryAfter);
          if (retryAfterMs !== undefined) answer.retryAfterMs = retryAfterMs;
          resolve(answer);
        });
      });
      stream.on('error', (err) => finish(() => reject(err)));
      stream.on('close', () => {
        const code = stream?.rstCode;
        finish(() => reject(new Error(`stream closed before the answer (code ${code ?? 'unknown'})`)));
      });
      stream.end(request.body);
    });
  }
}

function classify(answer: ApnsAnswer): PushOutcome {
  const { status, reason } = answer;
  const label = `apns: ${status}${reason !== undefined ? ` ${reason}` : ''}`;
  if (status === 200) return { status: 'sent' };
  if (status === 410 || (status === 400 && reason !== undefined && GONE_REASONS.has(reason))) return { status: 'gone' };
  if (status === 429 || status >= 500) {
    return answer.retryAfterMs !== undefined
      ? { status: 'retry', afterMs: answer.retryAfterMs, reason: label }
      : { status: 'retry', reason: label };
  }
  return { status: 'rejected', reason: label };
}

function reasonOf(body: string): string | undefined {
  if (body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { reason?: unknown }).reason === 'string') {
      return (parsed as { reason: string }).reason;
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

/** `apns-collapse-id` may be at most 64 bytes; longer keys are replaced by their hash. */
function collapseId(key: string): string {
  if (Buffer.byteLength(key, 'utf8') <= MAX_COLLAPSE_ID_BYTES) return key;
  return crypto.createHash('sha256').update(key).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
