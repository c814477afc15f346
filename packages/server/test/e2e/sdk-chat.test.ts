import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { anotherDevice, client, collect, sdkUser, waitFor } from '../support/sdk.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ receiptFlushMs: 20 });
});
afterAll(() => srv.stop());

const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);

/** Connects a device once, lets it sync, and returns the state an app would have saved when it went away. */
async function savedState(token: string) {
  const first = client(srv.url, token);
  await first.connect();
  await new Promise<void>((resolve) => (first.getSyncState().cursor ? resolve() : first.once('synced', () => resolve())));
  const state = first.getSyncState();
  first.close();
  return state;
}

describe('SDK end to end', () => {
  it('two users chat 1:1: send resolves with the durable ack, the other side receives in order', async () => {
    const alice = await sdkUser(srv.url, 'alice');
    const bob = await sdkUser(srv.url, 'bob');
    const a = client(srv.url, alice.token);
    const b = client(srv.url, bob.token);
    const inbox = collect(b);
    await Promise.all([a.connect(), b.connect()]);
    const channel = await alice.api.openDirect(bob.id);
    const acks = await Promise.all(['one', 'two', 'three'].map((t) => a.send(channel.id, t)));
    expect(acks.map((x) => x.seq)).toEqual([1, 2, 3]);
    await inbox.until(3);
    expect(inbox.messages.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(inbox.messages.every((m) => m.senderId === alice.id)).toBe(true);
    a.close();
    b.close();
  });

  it('keeps three devices of one user in sync: messages from others and from itself, and the shared read position', async () => {
    const carol = await sdkUser(srv.url, 'carol');
    const dan = await sdkUser(srv.url, 'dan');
    const tokens = [carol.token, await anotherDevice(srv.url, carol, 'phone'), await anotherDevice(srv.url, carol, 'tablet')];
    const devices = tokens.map((t) => client(srv.url, t));
    const logs = devices.map(collect);
    const d = client(srv.url, dan.token);
    await Promise.all([...devices, d].map((c) => c.connect()));
    const channel = await dan.api.createGroup('Family', [carol.id]);
    await d.send(channel.id, 'from dan');
    await devices[1]!.send(channel.id, 'from carol phone');
    for (const log of logs) {
      await log.until(3);
      expect(log.of(channel.id).map((m) => m.text)).toEqual([expect.stringContaining('created'), 'from dan', 'from carol phone']);
      expect(seqs(log.of(channel.id))).toEqual([1, 2, 3]);
    }
    // Sending moved Carol's read position to 3; Dan's next message is unread on all her devices.
    await d.send(channel.id, 'unread one');
    await logs[0]!.until(4);
    expect((await carol.api.channels()).find((c) => c.id === channel.id)).toMatchObject({ readSeq: 3, unreadCount: 1 });
    const reads: number[] = [];
    devices[2]!.on('receipts', (r) => r.receipts.forEach((x) => x.userId === carol.id && reads.push(x.readSeq)));
    devices[0]!.markRead(channel.id, 4);
    await waitFor(() => reads.includes(4), 5_000, 'read receipt on the third device');
    const list = await carol.api.channels();
    expect(list.find((c) => c.id === channel.id)).toMatchObject({ readSeq: 4, unreadCount: 0 });
    [...devices, d].forEach((c) => c.close());
  });

  it('a device offline while 500 messages arrive across 5 channels gets all 500 once, in order, when it returns', async () => {
    const erin = await sdkUser(srv.url, 'erin');
    const frank = await sdkUser(srv.url, 'frank');
    const channels = [];
    channels.push((await frank.api.openDirect(erin.id)).id);
    for (let i = 0; i < 4; i++) channels.push((await frank.api.createGroup(`g${i}`, [erin.id])).id);
    const erinToken = await anotherDevice(srv.url, erin, 'laptop');
    const state = await savedState(erinToken);

    const f = client(srv.url, frank.token);
    await f.connect();
    const sends = [];
    for (let i = 0; i < 100; i++) for (const ch of channels) sends.push(f.send(ch, `m${i} in ${ch}`));
    await Promise.all(sends);

    const back = client(srv.url, erinToken, { syncState: state });
    const log = collect(back);
    await back.connect();
    await log.until(500, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(log.messages).toHaveLength(500);
    for (const ch of channels) {
      const got = log.of(ch);
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i} in ${ch}`));
      const s = seqs(got);
      expect(s).toEqual([...s].sort((x, y) => x - y));
      expect(new Set(s).size).toBe(100);
    }
    back.close();
    f.close();
  });

  it('a device back from a short absence resumes over its socket alone: no HTTP request', async () => {
    const gina = await sdkUser(srv.url, 'gina');
    const hal = await sdkUser(srv.url, 'hal');
    const channels = [(await hal.api.openDirect(gina.id)).id, (await hal.api.createGroup('resume a', [gina.id])).id, (await hal.api.createGroup('resume b', [gina.id])).id];
    const ginaToken = await anotherDevice(srv.url, gina, 'phone');
    const state = await savedState(ginaToken);

    const h = client(srv.url, hal.token);
    await h.connect();
    await Promise.all(channels.flatMap((ch) => Array.from({ length: 5 }, (_, i) => h.send(ch, `away ${i} in ${ch}`))));

    const requests: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      requests.push(String(input));
      return fetch(input, init);
    };
    const back = client(srv.url, ginaToken, { syncState: state, fetch: countingFetch as never, discovery: false });
    const log = collect(back);
    const synced = new Promise<void>((resolve) => back.once('synced', () => resolve()));
    await back.connect();
    await synced;
    expect(requests).toEqual([]);
    for (const ch of channels) expect(log.of(ch).map((m) => m.text)).toEqual(Array.from({ length: 5 }, (_, i) => `away ${i} in ${ch}`));
    expect(log.messages).toHaveLength(15);
    back.close();
    h.close();
  });

  it('survives a dropped connection: unacknowledged sends are resent with their ids, nothing is lost or doubled', async () => {
    const gina = await sdkUser(srv.url, 'gina');
    const hank = await sdkUser(srv.url, 'hank');
    const g = client(srv.url, gina.token);
    const h = client(srv.url, hank.token);
    const log = collect(h);
    await Promise.all([g.connect(), h.connect()]);
    const ch = (await gina.api.openDirect(hank.id)).id;
    const pending = [];
    for (let i = 0; i < 50; i++) {
      pending.push(g.send(ch, `r${i}`));
      if (i === 20) {
        // Drop both sockets abruptly, as a flaky network would.
        (g as unknown as { ws: { terminate?: () => void; close: () => void } }).ws?.close();
        (h as unknown as { ws: { close: () => void } }).ws?.close();
      }
    }
    const acks = await Promise.all(pending);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(50);
    await log.until(50, 15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(log.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
    const hist = await hank.api.history(ch, { limit: 200 });
    expect(hist.messages).toHaveLength(50);
    g.close();
    h.close();
  });

  it('stops for good when its device is logged out elsewhere', async () => {
    const ivy = await sdkUser(srv.url, 'ivy');
    const phone = await anotherDevice(srv.url, ivy, 'phone');
    const c = client(srv.url, phone);
    await c.connect();
    const terminal = new Promise<{ code: number }>((resolve) => c.on('terminal', resolve));
    const devices = await ivy.api.devices();
    await ivy.api.revokeDevice(devices.find((d) => !d.current)!.id);
    expect((await terminal).code).toBe(4003);
    expect(c.state).toBe('closed');
  });

  it('refuses over-long text locally, before anything is sent', async () => {
    const jo = await sdkUser(srv.url, 'jo');
    const ken = await sdkUser(srv.url, 'ken');
    const c = client(srv.url, jo.token);
    await c.connect();
    const ch = (await jo.api.openDirect(ken.id)).id;
    await expect(c.send(ch, 'x'.repeat(100_001))).rejects.toMatchObject({ code: 'message_too_long' });
    await expect(c.send(ch, 'x'.repeat(100_000))).resolves.toMatchObject({ seq: 1 });
    c.close();
  });
});
