/*
 * The app's service worker (sw.js, built from src/sw/service-worker.ts). It is
 * part of production builds only: in development it would serve stale code.
 */

const enabled = import.meta.env.PROD && typeof navigator !== 'undefined' && 'serviceWorker' in navigator;

export function registerServiceWorker(): void {
  if (!enabled) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch((err: unknown) => console.warn('Service worker not registered:', err));
  });
}

/** The registration once its worker is active; null where the app runs without one. */
export function serviceWorkerReady(): Promise<ServiceWorkerRegistration> | null {
  return enabled ? navigator.serviceWorker.ready : null;
}

/** The registration if there is one already (never waits for an install). */
export async function currentRegistration(): Promise<ServiceWorkerRegistration | null> {
  if (!enabled) return null;
  return (await navigator.serviceWorker.getRegistration().catch(() => undefined)) ?? null;
}

/** Whether this browser can receive pushes for this app: a service worker, the Push API and notifications. */
export function pushSupported(): boolean {
  return enabled && 'PushManager' in window && 'Notification' in window;
}

/** The notification permission, or null where there are no notifications. */
export function notificationPermission(): NotificationPermission | null {
  return typeof Notification === 'undefined' ? null : Notification.permission;
}
