import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { isConfabError } from '@confab/sdk';
import { startServer, type TestServer } from '../support/server.js';
import { anotherDevice, client, collect, sdkUser, waitFor } from '../support/sdk.js';

/* The SDK against the real server's limits, blocks and password change. */

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ sendMessagesPerSecond: 50, sendMessagesBurst: 5, sendBytesPerSecond: 100_000, sendBytesBurst: 400_000 });
});
afterAll(() => srv.stop());

describe('SDK and the server\'s safety rules', () => {
  it('a burst past the send limit is resent after each retry-after: every message lands once, in order', async () => {
    const alice = await sdkUser(srv.url, 'slim');
    const bob = await sdkUser(srv.url, 'slom');
    const a = client(srv.url, alice.token);
    const b = client(srv.url, bob.token);
    const inbox = collect(b);
    await Promise.all([a.connect(), b.connect()]);
    const channel = await alice.api.openDirect(bob.id);
    const texts = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
    const acks = await Promise.all(texts.map((t) => a.send(channel.id, t)));
    expect(acks.map((x) => x.seq)).toEqual(texts.map((_, i) => i + 1));
    await inbox.until(30);
    expect(inbox.messages.map((m) => m.text)).toEqual(texts);
    a.close();
    b.close();
  });

  it('blocking: the blocked user\'s send rejects with `blocked`, and the SDK does not retry it', async () => {
    const alice = await sdkUser(srv.url, 'sblk');
    const bob = await sdkUser(srv.url, 'sbld');
    const channel = await bob.api.openDirect(alice.id);
    await alice.api.block(bob.id);
    expect((await alice.api.blocks()).map((x) => x.user.id)).toEqual([bob.id]);
    const b = client(srv.url, bob.token);
    await b.connect();
    const err = await b.send(channel.id, 'let me talk').catch((e: unknown) => e);
    expect(isConfabError(err, 'blocked')).toBe(true);
    expect(b.pendingSends).toBe(0);
    await alice.api.unblock(bob.id);
    expect((await b.send(channel.id, 'thanks')).seq).toBe(1);
    b.close();
  });

  it('a password change ends the other devices\' clients with a terminal close, and keeps this one', async () => {
    const carol = await sdkUser(srv.url, 'spw');
    const phone = client(srv.url, await anotherDevice(srv.url, carol, 'phone'));
    const laptop = client(srv.url, carol.token);
    const ended: number[] = [];
    phone.on('terminal', (t) => ended.push(t.code));
    await Promise.all([phone.connect(), laptop.connect()]);
    await carol.api.changePassword(carol.password, 'another good password');
    await waitFor(() => ended.length === 1, 5_000, 'the phone to be logged out');
    expect(ended).toEqual([CloseCode.SESSION_REVOKED]);
    expect(phone.state).toBe('closed');
    expect(laptop.state).toBe('open');
    laptop.close();
  });
});
