import { createHash, ECDH } from 'node:crypto';
import { Agent } from 'node:https';
import webpush from 'web-push';
import type { PushOutcome, PushPayload, PushRegistration, PushSender } from '../../push/push-sender.js';
import type { VapidKeys } from './vapid-keys.js';
import { parseRetryAfter } from '../../push/push-format.js';

/*
 * Web Push delivery (RFC 8030): the payload is encrypted for the subscription
 * (RFC 8291, `aes128gcm`) and the request signed with Confab's VAPID key pair
 * (RFC 8292), both by the `web-push` library, and POSTed to the
 * subscription's endpoint at the browser vendor's push service.
 *
 * The VAPID JWT is per push service origin; it is cached and signed anew an
 * hour before it expires. It reaches web-push as a ready Authorization header,
 * so web-push's process-wide `setVapidDetails()` must never be called (it
 * would replace that header).
 */

export interface WebPushSenderOptions {
  keys: VapidKeys;
  /** Most time one request may take, connecting included; then the outcome is `retry`. Default 10 s. */
  timeoutMs?: number;
  /**
   * The HTTPS agent requests go through. Default: a keep-alive agent the
   * sender owns and destroys on close(). Tests pass one trusting their local
   * service's certificate.
   */
  agent?: Agent;
}

/** The most payload bytes one push can carry: 4096-byte body − 86-byte aes128gcm header − 1 delimiter − 16 tag. */
export const MAX_WEB_PUSH_PAYLOAD_BYTES = 4096 - 86 - 1 - 16;

const DEFAULT_TIMEOUT_MS = 10_000;
/** JWT lifetime; push services refuse more than 24 hours. */
const JWT_LIFETIME_S = 12 * 60 * 60;
/** A cached JWT is replaced once it has less than this left. */
const JWT_REFRESH_S = 60 * 60;
/** Distinct push service origins whose JWT is kept (there are a handful in practice). */
const JWT_CACHE_SIZE = 256;

/**
 * The Web Push `Topic` for a collapse key: push services allow at most 32
 * characters of the URL-safe base64 alphabet, so the key is hashed. The hash
 * also keeps Confab's ids (channel ids) from the push service.
 */
export function webPushTopic(collapseKey: string): string {
  return createHash('sha256').update(collapseKey).digest('base64url').slice(0, 32);
}

class DeadlineExceeded extends Error {}

export class WebPushSender implements PushSender {
  readonly kind = 'webpush' as const;
  private readonly keys: VapidKeys;
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly ownsAgent: boolean;
  private readonly tokens = new Map<string, { authorization: string; exp: number }>();
  private closed = false;

  constructor(options: WebPushSenderOptions) {
    this.keys = options.keys;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ownsAgent = options.agent === undefined;
    this.agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: 64 });
  }

  async send(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): Promise<PushOutcome> {
    if (this.closed) return { status: 'retry', reason: 'sender closed' };
    try {
      return await this.deliver(registration, payload, opts);
    } catch (err) {
      // Only a defect can get here; the contract says send() never throws.
      return { status: 'rejected', reason: `internal error: ${errorMessage(err)}` };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tokens.clear();
    if (this.ownsAgent) this.agent.destroy();
  }

  private async deliver(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): Promise<PushOutcome> {
    if (registration.kind !== 'webpush') return { status: 'rejected', reason: `a ${registration.kind} registration sent to the Web Push sender` };
    const invalid = checkSubscription(registration);
    if (invalid) return { status: 'rejected', reason: invalid.reason };
    const body = JSON.stringify(payload);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_WEB_PUSH_PAYLOAD_BYTES) {
      return { status: 'rejected', reason: `payload of ${bytes} bytes exceeds ${MAX_WEB_PUSH_PAYLOAD_BYTES}` };
    }
    if (!Number.isFinite(opts.ttlSeconds)) return { status: 'rejected', reason: `invalid TTL ${opts.ttlSeconds}` };

    const request = webpush.sendNotification(
      { endpoint: registration.endpoint, keys: registration.keys },
      body,
      {
        headers: { Authorization: this.authorization(new URL(registration.endpoint).origin) },
        contentEncoding: 'aes128gcm',
        TTL: Math.max(0, Math.floor(opts.ttlSeconds)),
        // Push services and user agents may hold back less urgent pushes to
        // save battery (RFC 8030 §5.3): a message from another person should
        // arrive now; clearing read notifications can wait a little.
        urgency: payload.type === 'message' ? 'high' : 'normal',
        topic: webPushTopic(opts.collapseKey),
        timeout: this.timeoutMs, // socket inactivity
        agent: this.agent,
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceeded()), this.timeoutMs);
    });
    try {
      await Promise.race([request, deadline]);
      return { status: 'sent' };
    } catch (err) {
      return classify(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private authorization(audience: string): string {
    const now = Math.floor(Date.now() / 1000);
    const cached = this.tokens.get(audience);
    if (cached && cached.exp - now > JWT_REFRESH_S) return cached.authorization;
    const exp = now + JWT_LIFETIME_S;
    const { Authorization } = webpush.getVapidHeaders(audience, this.keys.subject, this.keys.publicKey, this.keys.privateKey, 'aes128gcm', exp);
    this.tokens.delete(audience);
    this.tokens.set(audience, { authorization: Authorization, exp });
    if (this.tokens.size > JWT_CACHE_SIZE) {
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
    return Authorization;
  }
}

/** Why a subscription cannot be pushed to, or undefined when it can. */
function checkSubscription(registration: { endpoint: string; keys: { p256dh: string; auth: string } }): { reason: string } | undefined {
  let url: URL;
  try {
    url = new URL(registration.endpoint);
  } catch {
    return { reason: 'the endpoint is not a URL' };
  }
  if (url.protocol !== 'https:') return { reason: 'the endpoint is not an https: URL' };
  const p256dh = decodeBase64url(registration.keys.p256dh);
  try {
    if (!p256dh || p256dh.length !== 65) throw new Error();
    ECDH.convertKey(p256dh, 'prime256v1'); // throws unless a point on P-256
  } catch {
    return { reason: 'keys.p256dh is not an uncompressed P-256 public key' };
  }
  const auth = decodeBase64url(registration.keys.auth);
  if (!auth || auth.length !== 16) return { reason: 'keys.auth is not a 16-byte secret' };
  return undefined;
}

function classify(err: unknown): PushOutcome {
  if (err instanceof DeadlineExceeded) return { status: 'retry', reason: 'timeout' };
  if (err instanceof webpush.WebPushError || typeof (err as { statusCode?: unknown }).statusCode === 'number') {
    const { statusCode, headers, body } = err as webpush.WebPushError;
    if (statusCode === 404 || statusCode === 410) return { status: 'gone' };
    const reason = `HTTP ${statusCode}${body ? `: ${String(body).slice(0, 200)}` : ''}`;
    if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
      const afterMs = parseRetryAfter(headers?.['retry-after']);
      return afterMs === undefined ? { status: 'retry', reason } : { status: 'retry', afterMs, reason };
    }
    return { status: 'rejected', reason };
  }
  // Transport failures (refused, reset, DNS, TLS, socket timeout) carry a
  // code or web-push's 'Socket timeout'; what remains was web-push refusing
  // to build the request, which the same input would repeat.
  const code = (err as { code?: unknown }).code;
  const message = errorMessage(err);
  if ((typeof code === 'string' && !code.startsWith('ERR_CRYPTO') && !code.startsWith('ERR_INVALID')) || message === 'Socket timeout') {
    return { status: 'retry', reason: `network: ${typeof code === 'string' ? code : message}` };
  }
  return { status: 'rejected', reason: `request: ${message}` };
}

function decodeBase64url(value: unknown): Buffer | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
