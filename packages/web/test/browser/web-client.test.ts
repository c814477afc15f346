import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../../../server/test/support/http.js';
import { RawSocket } from '../../../server/test/support/raw-socket.js';
import { backend, dropBackend } from '../../../server/test/support/backend.js';
import { startServer, type TestServer } from '../../../server/test/support/server.js';
import { DESKTOP, PHONE, buildWebApp, launchBrowser, newContext, runBrowserSuite, screenshotDir } from './harness.js';

const PASSWORD = 'correct horse battery';
let web: { dir: string; cleanup: () => void };
let srv: TestServer;
let browser: Browser;
let dataDir: string;
let port: number;

async function start(): Promise<TestServer> {
  return startServer({ webDir: web.dir, port, heartbeatMs: 500, presenceTimeoutMs: 3_000 }, {}, { keepData: true, dataDir });
}

beforeAll(async () => {
  if (!runBrowserSuite) return;
  web = await buildWebApp();
  port = 0;
  srv = await startServer({ webDir: web.dir, heartbeatMs: 500, presenceTimeoutMs: 3_000 }, {}, { keepData: true });
  dataDir = srv.dataDir;
  port = Number(new URL(srv.url).port);
  browser = await launchBrowser();
  mkdirSync(screenshotDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  if (!runBrowserSuite) return;
  await browser?.close();
  await srv?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await dropBackend(dataDir);
  web?.cleanup();
});

let n = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(n++).toString(36)}`;

async function signUpInUi(page: Page, username: string, displayName: string): Promise<void> {
  await page.goto(srv.url);
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

async function logInInUi(page: Page, username: string): Promise<void> {
  await page.goto(srv.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
}

/** A user created through the API, with a display name, ready to log in through the UI. */
async function apiUser(displayName: string) {
  const username = uniq(displayName.toLowerCase());
  await http(srv.url, 'POST', '/v1/accounts', { body: { username, password: PASSWORD, displayName } });
  const login = await http(srv.url, 'POST', '/v1/sessions', { body: { username, password: PASSWORD, deviceName: 'api' } });
  return { username, displayName, id: login.body.user.id as string, token: login.body.token as string };
}

function conversation(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: new RegExp(`^${name}`) });
}

async function openConversation(page: Page, name: string): Promise<void> {
  await conversation(page, name).click();
  await expect.poll(() => page.getByRole('heading', { level: 2, name }).count()).toBe(1);
}

async function sendInUi(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

function messageTexts(page: Page) {
  return page.locator('[data-testid="message"] [data-testid="message-text"]').allTextContents();
}

async function shot(page: Page, name: string): Promise<void> {
  // The virtualized list keeps new rows hidden for a frame or two while it scrolls them into place.
  await page.waitForFunction(() => !document.querySelector('[data-testid="virtuoso-item-list"][style*="visibility: hidden"]'));
  // Both configurations run this suite; one set of screenshots is enough (and two writers would race).
  if (backend === 'embedded') await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

describe.runIf(runBrowserSuite)('web client in Chromium', () => {
  it('two users chat 1:1 from separate browsers, with ticks up to read', async () => {
    const a = await newContext(browser);
    const b = await newContext(browser);
    const [alice, bob] = [uniq('alice'), uniq('bob')];
    await signUpInUi(a.page, alice, 'Alice');
    await shot(a.page, 'desktop-empty');
    await signUpInUi(b.page, bob, 'Bob');

    await a.page.getByRole('button', { name: 'New chat' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'New chat' });
    await dialog.getByLabel('Find people').fill(bob);
    await dialog.getByRole('button', { name: 'Message Bob' }).click();
    await a.page.getByRole('heading', { level: 2, name: 'Bob' }).waitFor();
    await sendInUi(a.page, 'Hello Bob');
    const mine = a.page.locator('[data-testid="message"][data-mine="true"]').last();
    await expect.poll(() => mine.getAttribute('data-status')).toMatch(/sent|delivered/);

    await openConversation(b.page, 'Alice');
    await expect.poll(() => messageTexts(b.page)).toEqual(['Hello Bob']);
    await sendInUi(b.page, 'Hi Alice\nsecond line');
    await expect.poll(() => messageTexts(a.page)).toEqual(['Hello Bob', 'Hi Alice\nsecond line']);
    // Bob has the conversation open, so Alice's message turns to read.
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 10_000 }).toBe('read');
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
    await shot(a.page, 'desktop-conversation');
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('a three-person group: everyone sees the messages and the membership events', async () => {
    const [carol, dan, erin] = await Promise.all([apiUser('Carol'), apiUser('Dan'), apiUser('Erin')]);
    const pages = await Promise.all([newContext(browser), newContext(browser), newContext(browser)]);
    await logInInUi(pages[0]!.page, carol.username);
    const page = pages[0]!.page;
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Group name').fill('Trip');
    for (const u of [dan, erin]) {
      await dialog.getByLabel('Find people').fill(u.username);
      await dialog.getByRole('checkbox', { name: u.displayName }).check();
    }
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { level: 2, name: 'Trip' }).waitFor();
    await expect.poll(() => page.locator('[data-testid="system-message"]').count()).toBeGreaterThanOrEqual(1);

    await logInInUi(pages[1]!.page, dan.username);
    await logInInUi(pages[2]!.page, erin.username);
    await openConversation(pages[1]!.page, 'Trip');
    await openConversation(pages[2]!.page, 'Trip');
    await sendInUi(page, 'Who brings the tent?');
    await sendInUi(pages[1]!.page, 'Me');
    for (const p of pages) await expect.poll(() => messageTexts(p.page)).toEqual(['Who brings the tent?', 'Me']);
    await page.getByRole('button', { name: 'Group info' }).click();
    await shot(page, 'desktop-group-info');
    await page.keyboard.press('Escape');
    for (const p of pages) expect(p.problems).toEqual([]);
    await Promise.all(pages.map((p) => p.context.close()));
  });

  it('manages a group: rename, add and remove members, leave; every member sees the events', async () => {
    const [uma, vic, wes, xan] = await Promise.all([apiUser('Uma'), apiUser('Vic'), apiUser('Wes'), apiUser('Xan')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels', { token: uma.token, body: { name: 'Club', memberIds: [vic.id, wes.id] } })).body.channel.id;
    const owner = await newContext(browser);
    await logInInUi(owner.page, uma.username);
    await openConversation(owner.page, 'Club');
    await owner.page.getByRole('button', { name: 'Group info' }).click();
    const info = owner.page.getByRole('dialog', { name: 'Group info' });
    await info.getByLabel('Group name').fill('Book club');
    await info.getByRole('button', { name: 'Rename' }).click();
    await owner.page.getByRole('heading', { level: 2, name: 'Book club' }).waitFor();
    await info.getByLabel('Find people').fill(xan.username);
    await info.getByRole('checkbox', { name: 'Xan' }).check();
    await info.getByRole('button', { name: 'Add members' }).click();
    await info.getByRole('button', { name: 'Remove Xan' }).waitFor();
    await info.getByRole('button', { name: 'Remove Wes' }).click();
    await expect.poll(() => info.getByRole('button', { name: 'Remove Wes' }).count()).toBe(0);
    await owner.page.keyboard.press('Escape');

    const detail = await http(srv.url, 'GET', `/v1/channels/${ch}`, { token: vic.token });
    expect(detail.body.channel.name).toBe('Book club');
    expect(detail.body.channel.members.map((m: { userId: string }) => m.userId).sort()).toEqual([uma.id, vic.id, xan.id].sort());
    const events = (await http(srv.url, 'GET', `/v1/channels/${ch}/messages`, { token: vic.token })).body.messages.map((m: { system?: { event: string } }) => m.system?.event);
    expect(events).toEqual(['created', 'renamed', 'member_added', 'member_removed']);
    await expect.poll(() => owner.page.locator('[data-testid="system-message"]').count()).toBe(4);

    // Vic leaves from his own browser; the owner sees it happen.
    const member = await newContext(browser);
    await logInInUi(member.page, vic.username);
    await openConversation(member.page, 'Book club');
    await member.page.getByRole('button', { name: 'Group info' }).click();
    await member.page.getByRole('dialog', { name: 'Group info' }).getByRole('button', { name: 'Leave group' }).click();
    await expect.poll(() => owner.page.locator('[data-testid="system-message"]').count(), { timeout: 10_000 }).toBe(5);
    expect(owner.problems).toEqual([]);
    expect(member.problems).toEqual([]);
    await Promise.all([owner.context.close(), member.context.close()]);
  });

  it('lists my devices, logs out another one (its session ends at once) and then this one', async () => {
    const yan = await apiUser('Yan');
    const laptop = await newContext(browser);
    await logInInUi(laptop.page, yan.username);
    const phone = await newContext(browser, PHONE);
    await logInInUi(phone.page, yan.username);
    await laptop.page.getByRole('button', { name: 'Account' }).click();
    const account = laptop.page.getByRole('dialog', { name: 'Account' });
    // Each other device has its own log-out button: the phone, and the device the API login made ("api").
    await expect.poll(() => account.getByRole('button', { name: /^Log out .+/ }).count()).toBe(2);
    await account.getByRole('button', { name: /^Log out (?!api$).+/ }).click();
    await expect.poll(() => account.getByRole('button', { name: /^Log out .+/ }).count()).toBe(1);
    // The phone's session ends at once: it is back at the login form without reloading.
    await phone.page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: 10_000 });
    // Logging out the laptop itself returns it to the login form too.
    await account.getByRole('button', { name: 'Log out', exact: true }).click();
    await laptop.page.getByRole('button', { name: 'Log in' }).waitFor();
    const left = (await http(srv.url, 'GET', '/v1/devices', { token: yan.token })).body.devices;
    expect(left.map((d: { name: string }) => d.name)).toEqual(['api']);
    await Promise.all([laptop.context.close(), phone.context.close()]);
  });

  it('a second tab of the same user stays in sync live: messages, read state and unread counts', async () => {
    const [frank, gina] = await Promise.all([apiUser('Frank'), apiUser('Gina')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: gina.token, body: { userId: frank.id } })).body.channel.id;
    const tab1 = await newContext(browser);
    await logInInUi(tab1.page, frank.username);
    const tab2 = await tab1.context.newPage();
    await tab2.goto(srv.url);
    await tab2.getByRole('navigation', { name: 'Conversations' }).waitFor();

    const g = await RawSocket.open(srv.url, gina.token);
    g.send({ type: 'send', id: 'u1', channelId: ch, text: 'unread one' });
    g.send({ type: 'send', id: 'u2', channelId: ch, text: 'unread two' });
    await g.next('ack', (f) => f.id === 'u2');
    for (const p of [tab1.page, tab2]) {
      await expect.poll(() => conversation(p, 'Gina').getByTestId('unread').getAttribute('aria-label')).toBe('2 unread');
    }
    await openConversation(tab1.page, 'Gina');
    // Reading in one tab clears the badge in the other.
    await expect.poll(() => conversation(tab2, 'Gina').getByTestId('unread').count(), { timeout: 10_000 }).toBe(0);
    await openConversation(tab2, 'Gina');
    await sendInUi(tab2, 'sent from tab two');
    // Chromium renders only the tab in front, and the virtualized list lays out
    // (ResizeObserver) only when rendered: look at tab one as a person would.
    await tab1.page.bringToFront();
    await expect.poll(() => messageTexts(tab1.page)).toEqual(['unread one', 'unread two', 'sent from tab two']);

    // Reload keeps history and read state.
    await tab2.bringToFront();
    await tab2.reload();
    await tab2.getByRole('navigation', { name: 'Conversations' }).waitFor();
    expect(await conversation(tab2, 'Gina').getByTestId('unread').count()).toBe(0);
    await openConversation(tab2, 'Gina');
    await expect.poll(() => messageTexts(tab2)).toEqual(['unread one', 'unread two', 'sent from tab two']);
    expect(tab1.problems).toEqual([]);
    await g.close();
    await tab1.context.close();
  });

  it('shows presence: online while the peer is connected, last seen after they leave', async () => {
    const [hank, ivy] = await Promise.all([apiUser('Hank'), apiUser('Ivy')]);
    await http(srv.url, 'POST', '/v1/channels/direct', { token: hank.token, body: { userId: ivy.id } });
    const h = await newContext(browser);
    await logInInUi(h.page, hank.username);
    await openConversation(h.page, 'Ivy');
    await expect.poll(() => h.page.getByTestId('presence').textContent()).not.toMatch(/^Online/);
    const i = await newContext(browser);
    await logInInUi(i.page, ivy.username);
    await expect.poll(() => h.page.getByTestId('presence').textContent(), { timeout: 10_000 }).toMatch(/^Online/);
    await expect.poll(() => conversation(h.page, 'Ivy').getByLabel('online').count()).toBe(1);
    await i.context.close();
    await expect.poll(() => h.page.getByTestId('presence').textContent(), { timeout: 10_000 }).toMatch(/Last seen/);
    await h.context.close();
  });

  it('blocks and unblocks the other person of a 1:1 conversation from its menu', async () => {
    const [jo, kim] = await Promise.all([apiUser('Jo'), apiUser('Kim')]);
    const channelId = (await http(srv.url, 'POST', '/v1/channels/direct', { token: kim.token, body: { userId: jo.id } })).body.channel.id;
    const j = await newContext(browser);
    await logInInUi(j.page, jo.username);
    await openConversation(j.page, 'Kim');
    const options = j.page.locator('.conv-header').getByRole('button', { name: 'Conversation options' });
    const kimSends = (clientId: string) => http(srv.url, 'POST', `/v1/channels/${channelId}/messages`, { token: kim.token, body: { clientId, text: clientId } });

    await options.click();
    await j.page.getByRole('menuitem', { name: 'Block Kim' }).click();
    await expect.poll(async () => (await http(srv.url, 'GET', '/v1/blocks', { token: jo.token })).body.blocks.length).toBe(1);
    expect((await kimSends('while-blocked')).body.code).toBe('blocked');

    await options.click();
    await j.page.getByRole('menuitem', { name: 'Unblock Kim' }).click();
    await expect.poll(async () => (await http(srv.url, 'GET', '/v1/blocks', { token: jo.token })).body.blocks.length).toBe(0);
    expect((await kimSends('after-unblock')).status).toBe(201);
    await expect.poll(() => messageTexts(j.page)).toEqual(['after-unblock']);
    expect(j.problems).toEqual([]);
    await j.context.close();
  });

  it('renders an HTML/script payload as plain text and links safely', async () => {
    const [jay, kim] = await Promise.all([apiUser('Jay'), apiUser('Kim')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: kim.token, body: { userId: jay.id } })).body.channel.id;
    const payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b> see https://example.org/a?b=1';
    await http(srv.url, 'POST', `/v1/channels/${ch}/messages`, { token: kim.token, body: { clientId: 'x1', text: payload } });
    const j = await newContext(browser);
    await logInInUi(j.page, jay.username);
    await openConversation(j.page, 'Kim');
    await expect.poll(() => messageTexts(j.page)).toEqual([payload]);
    const text = j.page.locator('[data-testid="message-text"]').first();
    expect(await text.locator('img, script, b').count()).toBe(0);
    expect(await j.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const link = text.getByRole('link');
    expect(await link.getAttribute('href')).toBe('https://example.org/a?b=1');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(j.problems).toEqual([]);
    await j.context.close();
  });

  it('counts characters near the limit and refuses over-long text before sending', async () => {
    const [lee, max] = await Promise.all([apiUser('Lee'), apiUser('Max')]);
    await http(srv.url, 'POST', '/v1/channels/direct', { token: lee.token, body: { userId: max.id } });
    const l = await newContext(browser);
    await logInInUi(l.page, lee.username);
    await openConversation(l.page, 'Max');
    const box = l.page.getByRole('textbox', { name: 'Message' });
    await box.fill('x'.repeat(100_001));
    await expect.poll(() => l.page.getByTestId('char-count').textContent()).toContain('100,001');
    expect(await l.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    expect(await l.page.getByRole('alert').textContent()).toMatch(/too long/i);
    await box.press('Enter');
    expect(await l.page.locator('[data-testid="message"]').count()).toBe(0);
    await box.fill('y'.repeat(100_000));
    await box.press('Enter');
    await expect.poll(() => l.page.locator('[data-testid="message"][data-mine="true"]').getAttribute('data-status'), { timeout: 10_000 }).toMatch(/sent|delivered|read/);
    await l.context.close();
  });

  it('stays fast with tens of thousands of messages: only what is visible is rendered, older pages load on scroll', async () => {
    const [nia, oz] = await Promise.all([apiUser('Nia'), apiUser('Oz')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: oz.token, body: { userId: nia.id } })).body.channel.id;
    const s = await RawSocket.open(srv.url, oz.token);
    const total = 20_000;
    for (let i = 1; i <= total; i++) s.send({ type: 'send', id: `bulk${i}`, channelId: ch, text: `bulk message ${i}` });
    await s.next('ack', (f) => f.id === `bulk${total}`, 60_000);
    await s.close();
    const p = await newContext(browser);
    await logInInUi(p.page, nia.username);
    await openConversation(p.page, 'Oz');
    await expect.poll(() => p.page.locator('[data-testid="message-text"]').last().textContent()).toBe(`bulk message ${total}`);
    const rendered = await p.page.locator('[data-testid="message"]').count();
    expect(rendered).toBeLessThan(200);
    const log = p.page.getByRole('log', { name: 'Messages' });
    const firstSeq = async () => Number(await p.page.locator('[data-testid="message"]').first().getAttribute('data-seq'));
    const before = await firstSeq();
    const scrollToTop = () =>
      log.evaluate((el) => {
        const scroller = el.querySelector('[data-virtuoso-scroller]') ?? el;
        scroller.scrollTop = 0;
      });
    // Keep scrolling to the top, as a reader would: older pages load and the oldest seq shown goes down.
    await expect
      .poll(async () => {
        await scrollToTop();
        return firstSeq();
      }, { timeout: 20_000, interval: 200 })
      .toBeLessThan(before - 100);
    expect(await p.page.locator('[data-testid="message"]').count()).toBeLessThan(300);
    await p.context.close();
  });

  it('shows a reconnecting banner while the server is down and recovers with nothing missing or doubled', async () => {
    const [pat, quinn] = await Promise.all([apiUser('Pat'), apiUser('Quinn')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: quinn.token, body: { userId: pat.id } })).body.channel.id;
    await http(srv.url, 'POST', `/v1/channels/${ch}/messages`, { token: quinn.token, body: { clientId: 'before', text: 'before the restart' } });
    const p = await newContext(browser);
    await logInInUi(p.page, pat.username);
    await openConversation(p.page, 'Quinn');
    await expect.poll(() => messageTexts(p.page)).toEqual(['before the restart']);
    const banner = p.page.getByTestId('connection-banner');
    expect(await banner.isVisible().catch(() => false)).toBe(false);

    await srv.stop();
    await expect.poll(() => banner.textContent(), { timeout: 15_000 }).toContain('Reconnecting');
    await shot(p.page, 'desktop-reconnecting');
    await sendInUi(p.page, 'typed while offline');
    expect(await p.page.locator('[data-testid="message"][data-mine="true"]').last().getAttribute('data-status')).toBe('pending');

    srv = await start();
    await expect.poll(() => banner.isVisible().catch(() => false), { timeout: 20_000 }).toBe(false);
    await expect.poll(() => p.page.locator('[data-testid="message"][data-mine="true"]').last().getAttribute('data-status'), { timeout: 15_000 }).toMatch(/sent|delivered|read/);
    await http(srv.url, 'POST', `/v1/channels/${ch}/messages`, { token: quinn.token, body: { clientId: 'after', text: 'after the restart' } });
    await expect.poll(() => messageTexts(p.page), { timeout: 10_000 }).toEqual(['before the restart', 'typed while offline', 'after the restart']);
    const stored = await http(srv.url, 'GET', `/v1/channels/${ch}/messages`, { token: quinn.token });
    expect(stored.body.messages.map((m: { text: string }) => m.text)).toEqual(['before the restart', 'typed while offline', 'after the restart']);
    await p.context.close();
  });

  it('works on a phone: list and conversation are separate screens; screenshots for the README', async () => {
    const [rae, sam] = await Promise.all([apiUser('Rae'), apiUser('Sam')]);
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: sam.token, body: { userId: rae.id } })).body.channel.id;
    for (const [i, t] of ['Are we still on for tonight?', 'Bring the board game 🎲', 'See you at 7'].entries()) {
      await http(srv.url, 'POST', `/v1/channels/${ch}/messages`, { token: i === 1 ? rae.token : sam.token, body: { clientId: `p${i}`, text: t } });
    }
    const ph = await newContext(browser, PHONE);
    await ph.page.goto(srv.url);
    await shot(ph.page, 'phone-login');
    await logInInUi(ph.page, rae.username);
    await shot(ph.page, 'phone-conversations');
    await openConversation(ph.page, 'Sam');
    expect(await ph.page.getByRole('navigation', { name: 'Conversations' }).isVisible()).toBe(false);
    await expect.poll(() => messageTexts(ph.page)).toHaveLength(3);
    await shot(ph.page, 'phone-conversation');
    await ph.page.getByRole('button', { name: 'Back' }).click();
    await ph.page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    const manifest = await (await fetch(`${srv.url}/manifest.webmanifest`)).json();
    expect(manifest).toMatchObject({ name: 'Confab', start_url: '/', display: 'standalone' });
    expect(await ph.page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.scriptURL ?? (await navigator.serviceWorker.ready).active?.scriptURL)).toContain('/sw.js');
    expect(ph.problems).toEqual([]);
    await ph.context.close();
    void DESKTOP;
  });
});
