import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../server/src/config.js';
import { http } from '../../../server/test/support/http.js';
import { startServer, type TestServer } from '../../../server/test/support/server.js';
import { buildWebApp, launchBrowser, newContext, runBrowserSuite } from './harness.js';

/*
 * Notifications in Chromium: pushes delivered to the service worker through
 * the DevTools protocol (headless Chromium has no push service of its own),
 * the permission prompt and subscription, clicks, muting, and a background
 * tab's own notifications.
 */

const PASSWORD = 'correct horse battery';
/** The stand-in push service of these tests; the server accepts Web Push endpoints on it. */
const PUSH_HOST = 'push.confab.test';

let web: { dir: string; cleanup: () => void };
let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!runBrowserSuite) return;
  web = await buildWebApp();
  const push = { webPushHosts: PUSH_HOST } as Partial<Config>;
  srv = await startServer({ webDir: web.dir, heartbeatMs: 500, presenceTimeoutMs: 3_000, ...push });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  if (!runBrowserSuite) return;
  await browser?.close();
  await srv?.stop(); // removes its data (and, distributed, its schema and keys)
  web?.cleanup();
});

let n = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(n++).toString(36)}`;

async function apiUser(displayName: string) {
  const username = uniq(displayName.toLowerCase());
  await http(srv.url, 'POST', '/v1/accounts', { body: { username, password: PASSWORD, displayName } });
  const login = await http(srv.url, 'POST', '/v1/sessions', { body: { username, password: PASSWORD, deviceName: 'api' } });
  return { username, displayName, id: login.body.user.id as string, token: login.body.token as string };
}

async function logInInUi(page: Page, username: string): Promise<void> {
  await page.goto(srv.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

async function directChannel(from: { token: string }, to: { id: string }): Promise<string> {
  return (await http(srv.url, 'POST', '/v1/channels/direct', { token: from.token, body: { userId: to.id } })).body.channel.id;
}

function conversation(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: new RegExp(`^${name}`) });
}

/** The session token the app keeps for this browser profile. */
function tokenOf(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(localStorage.getItem('confab:session') ?? 'null') as { token: string }).token);
}

async function serviceWorkerReady(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
}

interface Shown {
  title: string;
  body: string;
  tag: string;
  renotify: boolean;
  icon: string;
  data: unknown;
}

/** The notifications the app's registration has on screen, as the page sees them. */
function shown(page: Page): Promise<Shown[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const list = await registration.getNotifications();
    return list.map((x) => ({ title: x.title, body: x.body, tag: x.tag, renotify: (x as Notification & { renotify: boolean }).renotify, icon: x.icon, data: x.data as unknown }));
  });
}

/** Delivers push data to the app's service worker, as a push service would after decryption. */
class PushDelivery {
  private constructor(
    private readonly cdp: CDPSession,
    private readonly registrationId: string,
  ) {}

  static async attach(context: BrowserContext, page: Page): Promise<PushDelivery> {
    await serviceWorkerReady(page);
    const cdp = await context.newCDPSession(page);
    // ServiceWorker.enable reports the registrations: the push goes to ours by id.
    const registrationId = new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const ours = registrations.find((r) => !r.isDeleted && r.scopeURL === `${srv.url}/`);
        if (ours) resolve(ours.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    return new PushDelivery(cdp, await registrationId);
  }

  async push(payload: object): Promise<void> {
    await this.cdp.send('ServiceWorker.deliverPushMessage', { origin: srv.url, registrationId: this.registrationId, data: JSON.stringify(payload) });
  }
}

async function serviceWorkerOf(context: BrowserContext): Promise<Worker> {
  return context.serviceWorkers().find((w) => w.url().endsWith('/sw.js')) ?? (await context.waitForEvent('serviceworker', (w) => w.url().endsWith('/sw.js')));
}

/**
 * Clicks a notification the way the browser reports a click: a
 * NotificationEvent for the shown notification, dispatched in the service
 * worker, so its own notificationclick listener runs. No automation protocol
 * can click a system notification; the one difference from a real click is
 * that a script's event may not focus a window or open one (see the worker).
 */
async function clickNotification(context: BrowserContext, tag: string): Promise<void> {
  const worker = await serviceWorkerOf(context);
  const found = await worker.evaluate(async (t) => {
    // Worker globals (the suite is type-checked with the DOM library only).
    const scope = self as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean };
    const { NotificationEvent } = self as unknown as { NotificationEvent: new (type: string, init: { notification: Notification }) => Event };
    const [notification] = await scope.registration.getNotifications({ tag: t });
    if (!notification) return false;
    scope.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
    return true;
  }, tag);
  expect(found).toBe(true);
}

/** A Web Push subscription as a push service would hand one out: the P-256 key and auth secret the server encrypts for. */
function fakeSubscription() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://${PUSH_HOST}/send/${randomUUID()}`,
    p256dh: ecdh.getPublicKey().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  };
}

/**
 * Headless Chromium has no push service, so PushManager.subscribe() would be
 * refused: this replaces it (in the page) with one that hands out the given
 * subscription, made for whatever server key the app passes.
 */
async function stubPushManager(context: BrowserContext, sub: ReturnType<typeof fakeSubscription>): Promise<void> {
  await context.addInitScript((s) => {
    const w = window as unknown as { __confabPush: { subscribed: number; unsubscribed: number; key: string | null } };
    w.__confabPush = { subscribed: 0, unsubscribed: 0, key: null };
    const bytes = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
    let current: PushSubscription | null = null;
    PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
      const raw = options?.applicationServerKey;
      const key = typeof raw === 'string' ? bytes(raw) : new Uint8Array(raw instanceof ArrayBuffer ? raw : (raw as ArrayBufferView).buffer.slice(0));
      w.__confabPush.subscribed++;
      w.__confabPush.key = btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      current = {
        endpoint: s.endpoint,
        expirationTime: null,
        options: { userVisibleOnly: true, applicationServerKey: key.buffer },
        getKey: (name: PushEncryptionKeyName) => bytes(name === 'p256dh' ? s.p256dh : s.auth).buffer,
        toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } }),
        unsubscribe: async () => {
          w.__confabPush.unsubscribed++;
          current = null;
          return true;
        },
      } as unknown as PushSubscription;
      return current;
    };
    PushManager.prototype.getSubscription = async () => current;
  }, sub);
}

function pushCalls(page: Page) {
  return page.evaluate(() => (window as unknown as { __confabPush: { subscribed: number; unsubscribed: number; key: string | null } }).__confabPush);
}

/** This browser's push registration as the server has it. */
async function serverRegistration(token: string): Promise<unknown> {
  const res = await http(srv.url, 'GET', '/v1/devices/current/push', { token });
  expect(res.status).toBe(200);
  return res.body.registration;
}

describe.runIf(runBrowserSuite)('notifications in Chromium', () => {
  it('the service worker shows a notification per conversation for pushes and closes it when it was read elsewhere', async () => {
    const { context, page, problems } = await newContext(browser);
    await context.grantPermissions(['notifications'], { origin: srv.url });
    await page.goto(srv.url);
    const delivery = await PushDelivery.attach(context, page);

    await delivery.push({ type: 'message', channelId: 'c_trip', senderName: 'Bob', channelName: 'Trip', preview: 'Who brings the tent?', seq: 3 });
    await expect.poll(() => shown(page)).toEqual([
      { title: 'Trip', body: 'Bob: Who brings the tent?', tag: 'c_trip', renotify: true, icon: `${srv.url}/icons/icon-192.png`, data: { channelId: 'c_trip', seq: 3 } },
    ]);
    // A newer message replaces the conversation's notification; one that arrives late does not.
    await delivery.push({ type: 'message', channelId: 'c_trip', senderName: 'Dan', channelName: 'Trip', preview: 'Me', seq: 5 });
    await expect.poll(async () => (await shown(page)).map((x) => x.body)).toEqual(['Dan: Me']);
    await delivery.push({ type: 'message', channelId: 'c_trip', senderName: 'Bob', channelName: 'Trip', preview: 'late', seq: 4 });
    // 1:1, and a push without text (the server's privacy mode).
    await delivery.push({ type: 'message', channelId: 'c_ann', senderName: 'Ann', channelName: null, count: 3, seq: 9 });
    await expect.poll(async () => (await shown(page)).map((x) => [x.tag, x.title, x.body]).sort()).toEqual([
      ['c_ann', 'Ann', '3 new messages'],
      ['c_trip', 'Trip', 'Dan: Me'],
    ]);

    // Read up to seq 4 on another device: the notification is about seq 5, so it stays.
    await delivery.push({ type: 'read', channelId: 'c_trip', seq: 4 });
    await delivery.push({ type: 'read', channelId: 'c_trip', seq: 5 });
    await expect.poll(async () => (await shown(page)).map((x) => x.tag)).toEqual(['c_ann']);
    await delivery.push({ type: 'read', channelId: 'c_ann' });
    await expect.poll(() => shown(page)).toEqual([]);
    // Something that is not a Confab push is ignored.
    await delivery.push({ hello: 'world' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('asks for permission only after login, from the prompt; the subscription is registered with the server and ends at logout', async () => {
    const me = await apiUser('Pia');
    const sub = fakeSubscription();
    const { context, page, problems } = await newContext(browser);
    await stubPushManager(context, sub);
    await page.goto(srv.url);
    await serviceWorkerReady(page);
    expect(await page.evaluate(() => Notification.permission)).toBe('default');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Turn on notifications' }).count()).toBe(0);

    await logInInUi(page, me.username);
    const prompt = page.getByRole('region', { name: 'Notifications' });
    await prompt.getByRole('button', { name: 'Turn on notifications' }).waitFor();
    expect(await pushCalls(page)).toMatchObject({ subscribed: 0 });
    // The person allows notifications when the browser asks.
    await context.grantPermissions(['notifications'], { origin: srv.url });
    await prompt.getByRole('button', { name: 'Turn on notifications' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Notifications are on' }).count()).toBe(1);
    expect(await prompt.count()).toBe(0);

    const token = await tokenOf(page);
    const config = (await http(srv.url, 'GET', '/v1/push/config', { token })).body as { webPush: { publicKey: string } | null };
    expect(await pushCalls(page)).toEqual({ subscribed: 1, unsubscribed: 0, key: config.webPush?.publicKey });
    expect(await serverRegistration(token)).toEqual({ kind: 'webpush', endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } });

    // A returning visit: no prompt, the subscription is checked silently.
    await page.reload();
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    await expect.poll(async () => (await pushCalls(page)).subscribed).toBe(1);
    expect(await page.getByRole('button', { name: 'Turn on notifications' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Account' }).click();
    const account = page.getByRole('dialog', { name: 'Account' });
    await expect.poll(() => account.getByText('On in this browser.').count()).toBe(1);
    await account.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await expect.poll(async () => (await pushCalls(page)).unsubscribed).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('"Not now" hides the prompt for good; the account dialog still turns notifications on, and a refused subscription says so', async () => {
    const me = await apiUser('Quin');
    const { context, page, problems } = await newContext(browser);
    await logInInUi(page, me.username);
    const prompt = page.getByRole('region', { name: 'Notifications' });
    await prompt.getByRole('button', { name: 'Not now' }).click();
    expect(await prompt.count()).toBe(0);
    await page.reload();
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    await serviceWorkerReady(page);
    expect(await page.getByRole('button', { name: 'Turn on notifications' }).count()).toBe(0);

    // Without a stub, this browser has no push service: the failure is a message, and the app goes on.
    await context.grantPermissions(['notifications'], { origin: srv.url });
    await page.getByRole('button', { name: 'Account' }).click();
    const account = page.getByRole('dialog', { name: 'Account' });
    await account.getByRole('button', { name: 'Turn on notifications' }).click();
    await expect.poll(() => account.getByRole('alert').textContent(), { timeout: 10_000 }).toMatch(/push service|could not|not/i);
    await account.getByRole('button', { name: 'Try again' }).waitFor();
    expect(await serverRegistration(await tokenOf(page))).toBeNull();
    // Chromium's own explanation of the refusal (its automation profiles count as incognito).
    expect(problems.filter((p) => !p.includes('does not support the Push API'))).toEqual([]);
    await context.close();
  });

  it('clicking a notification opens its conversation in the open window', async () => {
    const [me, bob] = await Promise.all([apiUser('Rio'), apiUser('Bob')]);
    const channelId = await directChannel(bob, me);
    const { context, page, problems } = await newContext(browser);
    await stubPushManager(context, fakeSubscription());
    await context.grantPermissions(['notifications'], { origin: srv.url });
    await logInInUi(page, me.username);
    await conversation(page, 'Bob').waitFor();
    expect(await page.evaluate(() => location.hash)).toBe('');

    const delivery = await PushDelivery.attach(context, page);
    await delivery.push({ type: 'message', channelId, senderName: 'Bob', channelName: null, preview: 'Are you there?', seq: 1 });
    await expect.poll(async () => (await shown(page)).map((x) => x.tag)).toEqual([channelId]);
    await clickNotification(context, channelId);

    await page.getByRole('heading', { level: 2, name: 'Bob' }).waitFor();
    expect(await page.evaluate(() => location.hash)).toBe(`#/c/${encodeURIComponent(channelId)}`);
    await expect.poll(() => shown(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('mutes from the header menu: the icon shows, survives a reload, and another tab follows; unmute by keyboard', async () => {
    const [me, sal] = await Promise.all([apiUser('Sky'), apiUser('Sal')]);
    const channelId = await directChannel(sal, me);
    const { context, page, problems } = await newContext(browser);
    await logInInUi(page, me.username);
    const tab2 = await context.newPage();
    await tab2.goto(srv.url);
    await tab2.getByRole('navigation', { name: 'Conversations' }).waitFor();
    await page.bringToFront();

    await conversation(page, 'Sal').click();
    await page.getByRole('heading', { level: 2, name: 'Sal' }).waitFor();
    const header = page.locator('.conv-header');
    expect(await header.getByTestId('muted').count()).toBe(0);
    await header.getByRole('button', { name: 'Conversation options' }).click();
    await page.getByRole('menu', { name: 'Conversation options' }).getByRole('menuitem', { name: 'Mute for 8 hours' }).click();
    await header.getByTestId('muted').waitFor();
    await conversation(page, 'Sal').getByTestId('muted').waitFor();
    expect(await header.getByTestId('muted').getAttribute('title')).toBe('Muted for 8 h more');

    const list = (await http(srv.url, 'GET', '/v1/channels', { token: await tokenOf(page) })).body.channels as { id: string; mutedUntil: number | null }[];
    const mutedUntil = list.find((c) => c.id === channelId)!.mutedUntil!;
    expect(mutedUntil - Date.now()).toBeGreaterThan(7.9 * 3_600_000);

    // The other tab hears of it through its sync; a reload reads it from the server.
    await expect.poll(() => conversation(tab2, 'Sal').getByTestId('muted').count(), { timeout: 10_000 }).toBe(1);
    await page.reload();
    await header.getByTestId('muted').waitFor();

    // Unmute with the keyboard alone, in the other tab.
    await tab2.bringToFront();
    await conversation(tab2, 'Sal').click();
    const options = tab2.locator('.conv-header').getByRole('button', { name: 'Conversation options' });
    await options.focus();
    await tab2.keyboard.press('Enter');
    const unmute = tab2.getByRole('menuitem', { name: /^Unmute notifications/ });
    await expect.poll(() => unmute.evaluate((el) => el === document.activeElement)).toBe(true);
    await tab2.keyboard.press('Enter');
    await expect.poll(() => tab2.getByRole('menu').count()).toBe(0);
    expect(await options.evaluate((el) => el === document.activeElement)).toBe(true);
    await expect.poll(() => tab2.locator('.conv-header').getByTestId('muted').count()).toBe(0);
    await expect.poll(() => conversation(page, 'Sal').getByTestId('muted').count(), { timeout: 10_000 }).toBe(0);

    // Escape closes the menu and returns to its button.
    await options.focus();
    await tab2.keyboard.press('ArrowDown');
    await tab2.getByRole('menuitem', { name: 'Mute always' }).waitFor();
    await tab2.keyboard.press('Escape');
    await expect.poll(() => tab2.getByRole('menu').count()).toBe(0);
    expect(await options.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a hidden tab shows a notification for a live message, except in a muted conversation', async () => {
    const [me, tom, uli] = await Promise.all([apiUser('Val'), apiUser('Tom'), apiUser('Uli')]);
    const [withTom, withUli] = await Promise.all([directChannel(tom, me), directChannel(uli, me)]);
    await http(srv.url, 'PUT', `/v1/channels/${withUli}/mute`, { token: me.token, body: { mutedUntil: Date.now() + 3_600_000 } });
    const { context, page, problems } = await newContext(browser);
    await stubPushManager(context, fakeSubscription());
    await context.grantPermissions(['notifications'], { origin: srv.url });
    // Headless Chromium reports every tab as visible: this page reports what the test says.
    await context.addInitScript(() => {
      const w = window as unknown as { __confabHidden: boolean };
      w.__confabHidden = false;
      Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (w.__confabHidden ? 'hidden' : 'visible') });
    });
    await logInInUi(page, me.username);
    await serviceWorkerReady(page);
    await conversation(page, 'Tom').waitFor();
    await page.evaluate(() => {
      (window as unknown as { __confabHidden: boolean }).__confabHidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
    });

    await http(srv.url, 'POST', `/v1/channels/${withUli}/messages`, { token: uli.token, body: { clientId: 'm1', text: 'muted news' } });
    await http(srv.url, 'POST', `/v1/channels/${withTom}/messages`, { token: tom.token, body: { clientId: 'm1', text: 'Dinner at 8?' } });
    await expect.poll(() => shown(page), { timeout: 10_000 }).toEqual([
      { title: 'Tom', body: 'Dinner at 8?', tag: withTom, renotify: true, icon: `${srv.url}/icons/icon-192.png`, data: { channelId: withTom, seq: expect.any(Number) } },
    ]);

    // Back in front and reading it: the notification goes.
    await page.evaluate(() => {
      (window as unknown as { __confabHidden: boolean }).__confabHidden = false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await conversation(page, 'Tom').click();
    await expect.poll(() => shown(page), { timeout: 10_000 }).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
