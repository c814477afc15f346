import type { PushConfigResponse, PushRegistrationBody } from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import { AppError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { PushRegistration } from './push-sender.js';

/*
 * Where each device's pushes go. Registrations come from clients, so they are
 * checked before they are stored: a Web Push endpoint is a URL the server
 * will POST to, and only the push services of browser vendors (an operator's
 * allow-list) may be its host — otherwise any user could make the server send
 * requests into its own network.
 */

export interface PushRegistrationsOptions {
  /** The kinds this server has a sender for. */
  supports: (kind: PushRegistration['kind']) => boolean;
  /** Host names a Web Push endpoint may have; `*.example.com` allows subdomains. */
  webPushHosts: readonly string[];
  /** The VAPID public key browsers subscribe with; null when Web Push is off. */
  vapidPublicKey: string | null;
  now: () => number;
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** APNs device tokens are hex (32 bytes today; Apple says they may grow). */
const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;
/** FCM registration tokens: URL-safe characters and `:`. */
const FCM_TOKEN = /^[A-Za-z0-9_:-]{20,4096}$/;

function decodedLength(value: string): number | null {
  if (!BASE64URL.test(value)) return null;
  return Buffer.from(value.replace(/=+$/, ''), 'base64url').length;
}

/** Parses WEB_PUSH_HOSTS. */
export function parseHostList(value: string): string[] {
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h.length > 0);
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a));
}

export class PushRegistrations {
  constructor(
    private readonly store: Store,
    private readonly opts: PushRegistrationsOptions,
  ) {}

  config(): PushConfigResponse {
    return {
      webPush: this.opts.vapidPublicKey ? { publicKey: this.opts.vapidPublicKey } : null,
      apns: this.opts.supports('apns'),
      fcm: this.opts.supports('fcm'),
    };
  }

  async register(session: Session, body: PushRegistrationBody): Promise<void> {
    const registration = this.validate(body);
    await this.store.setPushRegistration(session.device.id, registration, this.opts.now());
  }

  async current(session: Session): Promise<PushRegistration | null> {
    return this.store.getPushRegistration(session.device.id);
  }

  async unregister(session: Session): Promise<void> {
    await this.store.deletePushRegistration(session.device.id);
  }

  private validate(body: PushRegistrationBody): PushRegistration {
    if (!this.opts.supports(body.kind)) throw new AppError('push_unsupported', `This server does not send ${body.kind} pushes.`);
    switch (body.kind) {
      case 'webpush': {
        let url: URL;
        try {
          url = new URL(body.endpoint);
        } catch {
          throw new AppError('bad_request', 'The endpoint is not a URL.');
        }
        if (url.protocol !== 'https:' || url.username || url.password) throw new AppError('bad_request', 'The endpoint must be an https URL.');
        if (!hostAllowed(url.hostname, this.opts.webPushHosts)) {
          throw new AppError('push_unsupported', `${url.hostname} is not a known push service.`);
        }
        // p256dh: an uncompressed P-256 point; auth: a 16-byte secret (RFC 8291).
        if (decodedLength(body.keys.p256dh) !== 65 || Buffer.from(body.keys.p256dh, 'base64url')[0] !== 0x04) {
          throw new AppError('bad_request', 'keys.p256dh must be a base64url P-256 public key.');
        }
        if (decodedLength(body.keys.auth) !== 16) throw new AppError('bad_request', 'keys.auth must be 16 bytes, base64url.');
        // Stored exactly as the browser gave it: the push service owns its URL's form.
        return { kind: 'webpush', endpoint: body.endpoint, keys: { p256dh: body.keys.p256dh, auth: body.keys.auth } };
      }
      case 'apns':
        if (!APNS_TOKEN.test(body.token)) throw new AppError('bad_request', 'An APNs device token is hex.');
        return { kind: 'apns', token: body.token.toLowerCase() };
      case 'fcm':
        if (!FCM_TOKEN.test(body.token)) throw new AppError('bad_request', 'Not an FCM registration token.');
        return { kind: 'fcm', token: body.token };
    }
  }
}
