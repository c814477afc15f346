import { isConfabError, type ConfabApi } from '@confab/sdk';
import { errorText } from './error-text.js';
import { base64UrlToBytes, registrationOf, sameKey, sameRegistration } from './push-keys.js';
import { currentRegistration, serviceWorkerReady } from './service-worker.js';

/** An install that has not finished in this long is not going to. */
const READY_TIMEOUT_MS = 15_000;

async function readyRegistration(): Promise<ServiceWorkerRegistration> {
  const ready = serviceWorkerReady();
  if (!ready) throw new PushSetupError('This browser cannot receive notifications from Confab.');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PushSetupError('Confab is still being installed in this browser. Try again in a moment.')), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failure whose message is already meant for people. */
export class PushSetupError extends Error {}

/**
 * Makes sure this browser has a push subscription for the server's current
 * VAPID key and that the server has it as this device's registration. A
 * subscription made with another key (the server's changed) is replaced.
 */
export async function ensurePushSubscription(api: ConfabApi, publicKey: string): Promise<void> {
  const registration = await readyRegistration();
  const key = base64UrlToBytes(publicKey);
  let subscription = await registration.pushManager.getSubscription().catch(() => null);
  if (subscription && !sameKey(subscription.options?.applicationServerKey, key)) {
    await subscription.unsubscribe().catch(() => false);
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const body = registrationOf(subscription.toJSON());
  if (!body) throw new PushSetupError('This browser gave Confab an incomplete push subscription.');
  // One read instead of a write on every start when nothing changed.
  const current = await api.pushRegistration().catch(() => null);
  if (!sameRegistration(current, body)) await api.registerPush(body);
}

/** Ends this browser's subscription (at logout) and clears the notifications of the account. */
export async function dropPushSubscription(): Promise<void> {
  const registration = await currentRegistration();
  if (!registration) return;
  for (const n of await registration.getNotifications().catch(() => [])) n.close();
  const subscription = await registration.pushManager?.getSubscription().catch(() => null);
  await subscription?.unsubscribe().catch(() => false);
}

/** A short sentence for a failed set-up. */
export function pushErrorText(err: unknown): string {
  if (err instanceof PushSetupError) return err.message;
  if (isConfabError(err)) return errorText(err);
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError') return 'Notifications are blocked for Confab in this browser’s settings.';
  if (name === 'AbortError' || name === 'NotSupportedError') return 'This browser has no push service available, so Confab cannot notify you here.';
  return 'Notifications could not be turned on in this browser.';
}
