import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import { dropBackend } from '../support/backend.js';
import { http, login, newUser } from '../support/http.js';
import { spawnServer } from '../support/process.js';
import { RawSocket } from '../support/raw-socket.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    await dropBackend(d);
  }
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'confab-proc-'));
  dirs.push(d);
  return d;
}

describe('durability of the real server process', () => {
  it('SIGKILL right after acknowledgements loses nothing: all acked messages exist once, in order, after restart', async () => {
    const dir = dataDir();
    const first = await spawnServer({ DATA_DIR: dir });
    const a = await newUser(first.url, 'kill');
    const b = await newUser(first.url, 'kept');
    const ch = (await http(first.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sock = await RawSocket.open(first.url, a.token);
    const N = 300;
    const acked = new Map<string, number>();
    const enough = new Promise<void>((resolve) => {
      sock.ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'ack') {
          acked.set(f.id, f.seq);
          // Kill the moment the 200th durable ack arrives, with sends still in flight.
          if (acked.size === 200) {
            first.child.kill('SIGKILL');
            resolve();
          }
        }
      });
    });
    for (let i = 0; i < N; i++) sock.send({ type: 'send', id: `k${i}`, channelId: ch, text: `kill test ${i}` });
    await enough;
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await spawnServer({ DATA_DIR: dir });
    try {
      const relogin = await login(second.url, b.username, b.password);
      const messages: { seq: number; clientId: string; text: string }[] = [];
      let after = 0;
      for (;;) {
        const page = await http(second.url, 'GET', `/v1/channels/${ch}/messages?after=${after}&limit=200`, { token: relogin.token });
        messages.push(...page.body.messages);
        if (!page.body.hasMore) break;
        after = messages.at(-1)!.seq;
      }
      expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
      const ids = messages.map((m) => m.clientId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const [id, seq] of acked) {
        const m = messages[seq - 1];
        expect(m?.clientId).toBe(id);
      }
      // The device's send order is the channel order.
      expect(ids).toEqual(ids.map((_, i) => `k${i}`));
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 60_000);

  it('SIGTERM drains: clients are told to reconnect, in-flight sends are acked, then sockets close with 1012', async () => {
    const dir = dataDir();
    const srv = await spawnServer({ DATA_DIR: dir, SHUTDOWN_GRACE_MS: '300' });
    const a = await newUser(srv.url, 'drain');
    const b = await newUser(srv.url, 'drainb');
    const ch = (await http(srv.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sock = await RawSocket.open(srv.url, a.token);
    for (let i = 0; i < 50; i++) sock.send({ type: 'send', id: `t${i}`, channelId: ch, text: `drain ${i}` });
    await new Promise((r) => setTimeout(r, 5));
    srv.child.kill('SIGTERM');
    await sock.next('reconnect');
    expect(await sock.closed).toBe(CloseCode.SERVICE_RESTART);
    const acks = sock.frames.filter((f) => f.type === 'ack');
    const errors = sock.frames.filter((f) => f.type === 'error');
    expect(acks.length + errors.length).toBe(50);
    expect(errors.every((e) => e.type === 'error' && e.retryable)).toBe(true);
    expect((await srv.exited).code).toBe(0);

    const again = await spawnServer({ DATA_DIR: dir });
    try {
      const s = await login(again.url, a.username, a.password);
      const hist = await http(again.url, 'GET', `/v1/channels/${ch}/messages?limit=200`, { token: s.token });
      expect(hist.body.messages.length).toBe(acks.length);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  }, 60_000);
});
