import { notificationFor, settledByRead, supersedes, type NotificationPayload } from './notifications.js';

/*
 * Showing and closing conversation notifications through the service worker
 * registration. Used by the service worker for pushes and by the page for a
 * background tab's live messages: the same tag, format and data either way.
 */

/** Runs `fn` alone across every tab and the service worker of this app, where the browser can. */
function exclusive(fn: () => Promise<void>): Promise<void> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? locks.request<void>('confab-notifications', fn) : fn();
}

/**
 * Shows the notification for a `message` payload, replacing the conversation's
 * previous one; skipped when one about the same or a later message is already
 * shown (a late push, or several tabs hearing the same message).
 */
export function showChannelNotification(registration: ServiceWorkerRegistration, payload: NotificationPayload): Promise<void> {
  const { title, options } = notificationFor(payload);
  return exclusive(async () => {
    const shown = await registration.getNotifications({ tag: options.tag });
    if (shown.some((n) => supersedes(n.data, payload.seq))) return;
    await registration.showNotification(title, options);
  });
}

/** Closes a conversation's notifications once it was read (up to `readSeq`; undefined: all of them). */
export async function closeChannelNotifications(registration: ServiceWorkerRegistration, channelId: string, readSeq?: number): Promise<void> {
  for (const n of await registration.getNotifications({ tag: channelId })) {
    if (settledByRead(n.data, readSeq)) n.close();
  }
}
