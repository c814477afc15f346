import { closeChannelNotifications, showChannelNotification } from '../lib/notification-display.js';
import { conversationUrl, notificationData, parsePayload, type OpenChannelMessage } from '../lib/notifications.js';

/*
 * Confab's service worker, bundled into sw.js at build time by vite.config.ts:
 * it precaches this build's app shell, so the app starts offline, and shows
 * the notifications that pushes from the Confab server carry.
 */

declare const self: ServiceWorkerGlobalScope;
/** Set at build time: this build's cache name and the files of its app shell. */
declare const __CONFAB_CACHE__: string;
declare const __CONFAB_PRECACHE__: string[];

const CACHE = __CONFAB_CACHE__;
const PRECACHE = __CONFAB_PRECACHE__;
const SHELL = new Set(PRECACHE);

// --- app shell ------------------------------------------------------------------------------

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

// Older builds' caches go once this one is in charge.
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('confab-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // The API (and its WebSocket) is live data: never answered from a cache.
  if (url.origin !== self.location.origin || url.pathname === '/v1' || url.pathname.startsWith('/v1/')) return;
  if (request.mode === 'navigate') {
    // Network first so a deploy shows at once; offline, the cached shell of this build.
    event.respondWith(fetch(request).catch(() => caches.match('/index.html', { cacheName: CACHE }).then((r) => r || Response.error())));
    return;
  }
  if (SHELL.has(url.pathname)) {
    // Built assets have content hashes in their names: a cached copy is always right.
    event.respondWith(caches.match(request, { cacheName: CACHE }).then((cached) => cached || fetch(request)));
  }
});

// --- notifications ---------------------------------------------------------------------------

function pushJson(event: PushEvent): unknown {
  try {
    return event.data?.json();
  } catch {
    return null;
  }
}

self.addEventListener('push', (event) => {
  const payload = parsePayload(pushJson(event));
  if (!payload) return;
  if (payload.type === 'message') {
    event.waitUntil(showChannelNotification(self.registration, payload));
  } else {
    // Read on another device: its notification is no longer news. Chrome
    // subscribes only with userVisibleOnly and expects every push to show
    // something; a push that only closes notifications may, once the browser's
    // allowance is used up, get a generic "updated in the background"
    // notification of its own. Closing is still the right thing to do here.
    event.waitUntil(closeChannelNotifications(self.registration, payload.channelId, payload.seq));
  }
});

/**
 * Brings a window of the app forward and has it open the conversation (the
 * app listens for `open-channel`), or opens a new window on it.
 */
async function openConversation(channelId: string | null): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const target = windows.find((w) => w.focused) ?? windows.find((w) => w.visibilityState === 'visible') ?? windows[0];
  if (target) {
    if (channelId) target.postMessage({ type: 'open-channel', channelId } satisfies OpenChannelMessage);
    // Refused without a click behind it; the conversation opens in that window all the same.
    await target.focus().catch(() => undefined);
    return;
  }
  await self.clients.openWindow(channelId ? conversationUrl(channelId) : '/');
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const work = openConversation(notificationData(event.notification.data)?.channelId ?? null);
  // Only an event from the browser itself may extend the worker's lifetime
  // (waitUntil throws for one dispatched by script). The browser suite
  // dispatches a NotificationEvent for a real notification, as no automation
  // protocol can click a system notification: the same listener then runs the
  // same steps, without the extension (and without the right to focus).
  if (event.isTrusted) event.waitUntil(work);
  else work.catch((err: unknown) => console.warn('Confab: could not open the conversation', err));
});

// A subscription the browser replaced is registered again by the app at its
// next start (the worker has no session to call the server with).
