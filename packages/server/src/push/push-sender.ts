/*
 * The push sender port: delivers one notification to one device registration
 * through its push service (Web Push, APNs or FCM). Implementations:
 * WebPushSender, ApnsSender, FcmSender. The push domain decides *whether* a
 * device gets a push; a sender only delivers it and classifies the outcome.
 *
 * Contract:
 * - send() never throws for a push service's answer; it resolves with an
 *   outcome the caller acts on:
 *   - `sent`: the push service accepted it.
 *   - `gone`: the registration is dead (HTTP 404/410, or the service's
 *     equivalent such as APNs `Unregistered` / FCM `UNREGISTERED`); the caller
 *     removes it and never retries.
 *   - `retry`: try again later (429, 5xx, network error); `afterMs` is the
 *     service's Retry-After when it gave one.
 *   - `rejected`: the request itself was wrong (other 4xx); retrying the same
 *     request cannot help.
 * - Authentication (VAPID JWT, APNs provider token, FCM OAuth2 access token)
 *   is the sender's business, cached and refreshed before it expires.
 */

import type { PushPayload } from '@confab/protocol';

export type PushRegistration =
  | { kind: 'webpush'; endpoint: string; keys: { p256dh: string; auth: string } }
  | { kind: 'apns'; token: string }
  | { kind: 'fcm'; token: string };

export type { PushPayload } from '@confab/protocol';

export type PushOutcome =
  | { status: 'sent' }
  | { status: 'gone' }
  | { status: 'retry'; afterMs?: number; reason: string }
  | { status: 'rejected'; reason: string };

export interface PushSender {
  readonly kind: PushRegistration['kind'];
  send(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number; collapseKey: string }): Promise<PushOutcome>;
  close(): Promise<void>;
}
