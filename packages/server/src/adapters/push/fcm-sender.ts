import crypto from 'node:crypto';
import type { PushOutcome, PushPayload, PushRegistration, PushSender } from '../../push/push-sender.js';
import { notificationText, parseRetryAfter } from '../../push/push-format.js';

/*
 * FCM delivery through the HTTP v1 API, authenticated as a service account:
 * a signed JWT assertion (RS256) is exchanged at the account's token_uri for
 * an OAuth2 access token, which is cached until five minutes before it
 * expires and shared by all sends (concurrent sends wait for one exchange).
 * A 401 from FCM drops the cached token; the send is tried once more with a
 * fresh one.
 */

/** The fields of a service account's JSON key file that the sender uses. */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  /** PKCS#8 PEM RSA private key. */
  private_key: string;
  /** The OAuth2 token endpoint, normally https://oauth2.googleapis.com/token. */
  token_uri: string;
}

export interface FcmSenderOptions {
  serviceAccount: FcmServiceAccount;
  /** The FCM origin. Default https://fcm.googleapis.com. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Upper bound for one HTTP request (token exchange or send). Default 10 s. */
  timeoutMs?: number;
}

const DEFAULT_BASE_URL = 'https://fcm.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ASSERTION_LIFETIME_S = 3600;
const REFRESH_MARGIN_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
/** FCM keeps a message at most four weeks. */
const MAX_TTL_S = 28 * 24 * 3600;

interface AccessToken {
  token: string;
  /** When to stop using it (five minutes before it expires). */
  refreshAt: number;
}

interface FcmAnswer {
  status: number;
  errorCode?: string;
  message?: string;
  tokenViolation: boolean;
  retryAfterMs?: number;
}

/** The token exchange failed in a way that decides the send's outcome. */
class AuthFailure extends Error {
  constructor(readonly outcome: PushOutcome) {
    super(outcome.status === 'retry' || outcome.status === 'rejected' ? outcome.reason : outcome.status);
  }
}

export class FcmSender implements PushSender {
  readonly kind = 'fcm' as const;
  private readonly account: FcmServiceAccount;
  private readonly key: crypto.KeyObject;
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private cached: AccessToken | undefined;
  private pending: Promise<AccessToken> | undefined;
  private closed = false;

  constructor(options: FcmSenderOptions) {
    this.account = options.serviceAccount;
    this.key = crypto.createPrivateKey(options.serviceAccount.private_key);
    if (this.key.asymmetricKeyType !== 'rsa') throw new Error('FCM service account private_key must be an RSA private key');
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): Promise<PushOutcome> {
    if (registration.kind !== 'fcm') {
      return { status: 'rejected', reason: `fcm: cannot deliver to a ${registration.kind} registration` };
    }
    if (this.closed) return { status: 'retry', reason: 'fcm: sender is closed' };
    try {
      const body = JSON.stringify(buildMessage(registration.token, payload, opts));
      let token = await this.accessToken();
      let answer = await this.post(body, token.token);
      if (answer.status === 401) {
        this.drop(token);
        token = await this.accessToken();
        answer = await this.post(body, token.token);
        if (answer.status === 401) {
          return { status: 'retry', reason: 'fcm: 401 with a freshly issued access token' };
        }
      }
      return classify(answer);
    } catch (err) {
      if (err instanceof AuthFailure) return err.outcome;
      return { status: 'retry', reason: `fcm: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cached = undefined;
  }

  private async accessToken(): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && Date.now() < cached.refreshAt) return cached;
    if (!this.pending) {
      this.pending = this.exchange().finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Forgets `token` if it is still the cached one (a 401 said it is no good). */
  private drop(token: AccessToken): void {
    if (this.cached === token) this.cached = undefined;
  }

  private async exchange(): Promise<AccessToken> {
    const form = new URLSearchParams({ grant_type: GRANT_TYPE, assertion: this.assertion() });
    let response: Response;
    try {
      response = await this.fetch(this.account.token_uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new AuthFailure({ status: 'retry', reason: `fcm oauth: ${err instanceof Error ? err.message : String(err)}` });
    }
    const text = await response.text();
    const json = parseJson(text) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    if (!response.ok) {
      const detail = [json?.error, json?.error_description].filter((v) => typeof v === 'string').join(': ');
      const reason = `fcm oauth: ${response.status}${detail ? ` ${detail}` : ''}`;
      if (response.status === 429 || response.status >= 500) {
        const afterMs = parseRetryAfter(response.headers.get('retry-after'));
        throw new AuthFailure(afterMs !== undefined ? { status: 'retry', afterMs, reason } : { status: 'retry', reason });
      }
      throw new AuthFailure({ status: 'rejected', reason });
    }
    if (typeof json?.access_token !== 'string' || json.access_token === '') {
      throw new AuthFailure({ status: 'retry', reason: 'fcm oauth: token response without an access_token' });
    }
    const expiresInMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : ASSERTION_LIFETIME_S) * 1000;
    // Short-lived tokens (under ten minutes) are kept for half their life.
    const margin = Math.min(REFRESH_MARGIN_MS, expiresInMs / 2);
    const token: AccessToken = { token: json.access_token, refreshAt: Date.now() + expiresInMs - margin };
    this.cached = token;
    return token;
  }

  /** The signed JWT that proves the service account's identity at token_uri. */
  private assertion(): string {
    const iat = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = base64url(
      JSON.stringify({ iss: this.account.client_email, scope: SCOPE, aud: this.account.token_uri, iat, exp: iat + ASSERTION_LIFETIME_S }),
    );
    const signingInput = `${header}.${claims}`;
    const signature = crypto.sign('sha256', Buffer.from(signingInput), this.key);
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  private async post(body: string, accessToken: string): Promise<FcmAnswer> {
    const url = `${this.baseUrl}/v1/projects/${encodeURIComponent(this.account.project_id)}/messages:send`;
    const response = await this.fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=UTF-8' },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    const answer: FcmAnswer = { status: response.status, tokenViolation: false };
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    if (retryAfterMs !== undefined) answer.retryAfterMs = retryAfterMs;
    const error = (parseJson(text) as { error?: unknown } | undefined)?.error;
    if (error && typeof error === 'object') {
      const { message, status, details } = error as { message?: unknown; status?: unknown; details?: unknown };
      if (typeof message === 'string') answer.message = message;
      if (typeof status === 'string') answer.errorCode = status;
      for (const detail of Array.isArray(details) ? details : []) {
        if (!detail || typeof detail !== 'object') continue;
        const { errorCode, fieldViolations } = detail as { errorCode?: unknown; fieldViolations?: unknown };
        // The FcmError detail is more precise than the canonical status.
        if (typeof errorCode === 'string') answer.errorCode = errorCode;
        for (const violation of Array.isArray(fieldViolations) ? fieldViolations : []) {
          if (violation && typeof violation === 'object' && (violation as { field?: unknown }).field === 'message.token') {
            answer.tokenViolation = true;
          }
        }
      }
    }
    return answer;
  }
}

function buildMessage(token: string, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): unknown {
  const ttl = Math.min(MAX_TTL_S, Math.max(0, Math.floor(opts.ttlSeconds)));
  const message: Record<string, unknown> = {
    token,
    android: { priority: payload.type === 'read' ? 'normal' : 'high', ttl: `${ttl}s`, collapse_key: opts.collapseKey },
    data: dataOf(payload),
  };
  // A `read` push is data-only, so the app handles it silently.
  if (payload.type === 'message') message.notification = notificationText(payload);
  return { message };
}

/** FCM data values must be strings; absent and null fields are left out. */
function dataOf(payload: PushPayload): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (value !== undefined && value !== null) data[key] = String(value);
  }
  return data;
}

function classify(answer: FcmAnswer): PushOutcome {
  const { status, errorCode } = answer;
  const label = `fcm: ${status}${errorCode !== undefined ? ` ${errorCode}` : ''}${answer.message !== undefined ? ` ${answer.message}` : ''}`;
  if (status >= 200 && status < 300) return { status: 'sent' };
  if (status === 404 || errorCode === 'UNREGISTERED') return { status: 'gone' };
  if (status === 400 && errorCode === 'INVALID_ARGUMENT' && isAboutToken(answer)) return { status: 'gone' };
  if (status === 429 || status >= 500) {
    return answer.retryAfterMs !== undefined ? { status: 'retry', afterMs: answer.retryAfterMs, reason: label } : { status: 'retry', reason: label };
  }
  return { status: 'rejected', reason: label };
}

/** INVALID_ARGUMENT also covers malformed payloads; only a bad token means the registration is dead. */
function isAboutToken(answer: FcmAnswer): boolean {
  return answer.tokenViolation || /registration token/i.test(answer.message ?? '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
