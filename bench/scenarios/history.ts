import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../packages/server/src/adapters/store/sqlite-store.js';
import { target } from '../lib/drivers/confab.js';
import { newHistogram, nowUs, summarize } from '../lib/histogram.js';

/*
 * History: a page of 50 from a channel holding a million messages, against
 * the same page from a channel of a thousand. The accounts and channels are
 * made through the API; the million messages are then appended through the
 * store's own group commit (in batches, server stopped) because sending them
 * one by one would only measure sending. Pages are requested at random
 * positions at a constant rate, latency measured from the intended time.
 */

async function api<T>(url: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function measure(url: string, token: string, channelId: string, lastSeq: number, requests: number, rate: number) {
  const hist = newHistogram();
  const start = nowUs() + 100_000;
  const interval = 1e6 / rate;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < requests; i++) {
    const intended = start + i * interval;
    const wait = (intended - nowUs()) / 1000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const before = 51 + Math.floor(Math.random() * (lastSeq - 50));
    inflight.push(
      (async () => {
        const res = await fetch(`${url}/v1/channels/${channelId}/messages?before=${before}&limit=50`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { messages: unknown[] };
        if (body.messages.length !== 50) throw new Error(`page of ${body.messages.length}`);
        hist.recordValue(Math.max(1, nowUs() - intended));
      })(),
    );
  }
  await Promise.all(inflight);
  return summarize(hist);
}

export async function history(opts: { messages: number; requests: number }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'confab-bench-history-'));
  try {
    let running = await target.start({ dataDir });
    const url = running.urls[0]!;
    const password = 'benchmark-password';
    const users = [];
    for (const name of ['hist_owner', 'hist_reader']) {
      await api(url, 'POST', '/v1/accounts', undefined, { username: name, password, displayName: name });
      users.push(await api<{ token: string; user: { id: string } }>(url, 'POST', '/v1/sessions', undefined, { username: name, password }));
    }
    const [owner, reader] = users as [{ token: string; user: { id: string } }, { token: string; user: { id: string } }];
    const long = (await api<{ channel: { id: string } }>(url, 'POST', '/v1/channels', owner.token, { name: 'long', memberIds: [reader.user.id] })).channel.id;
    const short = (await api<{ channel: { id: string } }>(url, 'POST', '/v1/channels', owner.token, { name: 'short', memberIds: [reader.user.id] })).channel.id;
    await running.stop();

    const loadStarted = performance.now();
    const store = SqliteStore.open({ path: join(dataDir, 'confab.db'), synchronous: 'normal' });
    const text = 'A message of about a hundred bytes, like most chat messages are, give or take some emoji 🙂 and more';
    const fill = async (channelId: string, count: number) => {
      for (let done = 0; done < count; ) {
        const n = Math.min(5_000, count - done);
        const batch = Array.from({ length: n }, (_, i) => ({ channelId, senderId: owner.user.id, senderDeviceId: 'bench-loader', clientId: `h${done + i}`, text }));
        await store.appendMessages(batch, Date.now());
        done += n;
      }
    };
    await fill(long, opts.messages);
    await fill(short, 1_000);
    await store.close();
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    running = await target.start({ dataDir });
    const url2 = running.urls[0]!;
    try {
      // Warm the connection pool and the page cache the way a running server would be.
      await measure(url2, reader.token, long, opts.messages, Math.min(200, opts.requests), 200);
      const longResult = await measure(url2, reader.token, long, opts.messages, opts.requests, 200);
      const shortResult = await measure(url2, reader.token, short, 1_000, opts.requests, 200);
      return { pageSize: 50, requestsPerSecond: 200, loadSeconds: Math.round(loadSeconds), long: longResult, short: shortResult };
    } finally {
      await running.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
