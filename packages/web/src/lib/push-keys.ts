import type { PushRegistrationBody } from '@confab/sdk';

/*
 * Web Push keys and subscriptions as plain data: the VAPID key arrives as
 * base64url text, PushManager wants bytes, and the server wants the
 * subscription's endpoint and keys.
 */

export type WebPushRegistration = Extract<PushRegistrationBody, { kind: 'webpush' }>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes base64url (padding optional), as VAPID public keys are written. Throws on anything else. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const s = text.replace(/=+$/, '');
  if (!BASE64URL.test(s) || s.length % 4 === 1) throw new TypeError('not base64url');
  const binary = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Whether a subscription was made with this server key (it may have changed since: keys rotate, servers move). */
export function sameKey(current: ArrayBuffer | ArrayBufferView | null | undefined, expected: Uint8Array): boolean {
  if (!current) return false;
  const a = current instanceof ArrayBuffer ? new Uint8Array(current) : new Uint8Array(current.buffer, current.byteOffset, current.byteLength);
  return a.length === expected.length && a.every((b, i) => b === expected[i]);
}

/** The registration to send for a subscription (`PushSubscription.toJSON()`); null when it lacks a part. */
export function registrationOf(json: PushSubscriptionJSON): WebPushRegistration | null {
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!json.endpoint || !p256dh || !auth) return null;
  return { kind: 'webpush', endpoint: json.endpoint, keys: { p256dh, auth } };
}

export function sameRegistration(a: PushRegistrationBody | null, b: WebPushRegistration): boolean {
  return a?.kind === 'webpush' && a.endpoint === b.endpoint && a.keys.p256dh === b.keys.p256dh && a.keys.auth === b.keys.auth;
}
