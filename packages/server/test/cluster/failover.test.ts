import type { ConfabClient, Message } from '@confab/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, newUser } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { client, collect } from '../support/sdk.js';
import { postgresAvailable, redisAvailable } from '../support/services.js';
import { startCluster, type Cluster } from './cluster-harness.js';

const run = postgresAvailable && redisAvailable;
let cluster: Cluster;

beforeAll(async () => {
  if (!run) return;
  cluster = await startCluster(3);
}, 60_000);
afterAll(async () => {
  if (run) await cluster.stop();
});

async function allHistory(url: string, token: string, channelId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const page = await http(url, 'GET', `/v1/channels/${channelId}/messages?after=${after}&limit=200`, { token });
    out.push(...page.body.messages);
    if (!page.body.hasMore) return out;
    after = out.at(-1)!.seq;
  }
}

describe.runIf(run)('a node dies', () => {
  it('SIGKILL of a node while its clients send: they move, resend, and every acked message exists once, delivered once, in order', async () => {
    const [entry, , victim] = cluster.nodes.map((n) => n.url) as [string, string, string];
    const victimId = 'node3';
    const pairs: { sender: ConfabClient; receiver: ConfabClient; channelId: string; token: string; texts: string[]; log: ReturnType<typeof collect> }[] = [];
    // Connect pairs until at least two senders sit on the node that will die.
    while (pairs.filter((p) => p.sender.welcome?.nodeId === victimId).length < 2 && pairs.length < 30) {
      const s = await newUser(entry, 'fs');
      const r = await newUser(entry, 'fr');
      const channelId = (await http(entry, 'POST', '/v1/channels/direct', { token: s.token, body: { userId: r.user.id } })).body.channel.id;
      const sender = client(entry, s.token);
      const receiver = client(entry, r.token);
      const log = collect(receiver);
      await Promise.all([sender.connect(), receiver.connect()]);
      pairs.push({ sender, receiver, channelId, token: s.token, texts: [], log });
    }
    expect(pairs.filter((p) => p.sender.welcome?.nodeId === victimId).length).toBeGreaterThanOrEqual(2);

    // A user connected only to the doomed node, watched by a peer elsewhere.
    const lonely = await newUser(entry, 'lonely');
    const watcher = await newUser(entry, 'watcher');
    await http(entry, 'POST', '/v1/channels/direct', { token: watcher.token, body: { userId: lonely.user.id } });
    const watch = await RawSocket.open(entry, watcher.token);
    const beat = setInterval(() => watch.send({ type: 'ping' }), 300);
    const lonelySock = await RawSocket.open(victim, lonely.token);
    await watch.next('presence', (f) => f.userId === lonely.user.id && f.online);

    const sends: Promise<unknown>[] = [];
    const PER_SENDER = 60;
    let killed = false;
    for (let i = 0; i < PER_SENDER; i++) {
      for (const p of pairs) {
        const text = `m${i}`;
        p.texts.push(text);
        sends.push(p.sender.send(p.channelId, text));
      }
      if (i === 20) {
        cluster.nodes[2]!.child.kill('SIGKILL');
        killed = true;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(killed).toBe(true);
    await Promise.all(sends);

    for (const p of pairs) {
      const stored = await allHistory(entry, p.token, p.channelId);
      expect(stored.map((m) => m.text)).toEqual(p.texts);
      expect(stored.map((m) => m.seq)).toEqual(p.texts.map((_, i) => i + 1));
      await p.log.until(PER_SENDER, 20_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(p.log.of(p.channelId).map((m) => m.text)).toEqual(p.texts);
      expect(p.sender.welcome?.nodeId).not.toBe(victimId);
    }

    // The user who was only on the dead node goes offline within the presence timeout.
    const off = await watch.next('presence', (f) => f.userId === lonely.user.id && !f.online, 10_000);
    expect(off.online).toBe(false);
    clearInterval(beat);
    await watch.close();
    void lonelySock;
    pairs.forEach((p) => {
      p.sender.close();
      p.receiver.close();
    });
  }, 90_000);

  it('SIGTERM drains a node: its clients are told to move and in-flight sends finish', async () => {
    const extra = await cluster.startNode('node4');
    const a = await newUser(extra.url, 'dr');
    const b = await newUser(extra.url, 'ds');
    const ch = (await http(extra.url, 'POST', '/v1/channels/direct', { token: a.token, body: { userId: b.user.id } })).body.channel.id;
    const sock = await RawSocket.open(extra.url, a.token);
    for (let i = 0; i < 30; i++) sock.send({ type: 'send', id: `d${i}`, channelId: ch, text: `drain ${i}` });
    await new Promise((r) => setTimeout(r, 5));
    extra.child.kill('SIGTERM');
    await sock.next('reconnect');
    await sock.closed;
    const acked = sock.frames.filter((f) => f.type === 'ack').length;
    expect((await extra.exited).code).toBe(0);
    const stored = await allHistory(cluster.nodes[0]!.url, a.token, ch);
    expect(stored.length).toBe(acked);
    // A drained node is no longer handed out.
    const targets = new Set<string>();
    for (let i = 0; i < 10; i++) targets.add((await http(cluster.nodes[0]!.url, 'GET', '/v1/connect', { token: a.token })).body.url);
    expect(targets.has(extra.url)).toBe(false);
  }, 60_000);
});
