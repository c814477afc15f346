import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { target } from '../lib/drivers/confab.js';
import { newHistogram, nowUs, summarize } from '../lib/histogram.js';

/*
 * History: a page of 50 from a channel holding a million messages, against
 * the same page from a channel of a thousand. The accounts and channels are
 * made through the API; the million messages are then appended through the
 * store's own group commit (in batches, server stopped, in a process of their
 * own) because sending them one by one would only measure sending. Pages are requested at random
 * positions at a constant rate, latency measured from the intended time.
 *
 * The requests go through node:http with a keep-alive pool rather than
 * fetch: undici's allocations made the load process collect garbage often
 * enough to show in the tail (in a trace, half the requests over 5 ms
 * overlapped a collection in the client, none in the server).
 */

function getJson(agent: Agent, url: string, token: string): Promise<{ messages: unknown[] }> {
  return new Promise((resolve, reject) => {
    get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`history: ${res.statusCode}`));
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: unknown[] });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function api<T>(url: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function measure(agent: Agent, url: string, token: string, channelId: string, lastSeq: number, requests: number, rate: number) {
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
        const body = await getJson(agent, `${url}/v1/channels/${channelId}/messages?before=${before}&limit=50`, token);
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
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
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
    const filler = fileURLToPath(new URL('../lib/history-fill.ts', import.meta.url));
    execFileSync(process.execPath, ['--conditions=@confab/source', '--import', 'tsx', filler, join(dataDir, 'confab.db'), owner.user.id, `${long}=${opts.messages}`, `${short}=1000`], { stdio: 'inherit' });
    // Hundreds of MB were just written in seconds, which no running server does:
    // let the kernel write them out now, not during the measurement.
    execFileSync('sync');
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    running = await target.start({ dataDir });
    const url2 = running.urls[0]!;
    try {
      // Warm the connection pool, the page cache and the JIT the way a running
      // server would be: the first seconds after a start are slower (compilation).
      await measure(agent, url2, reader.token, long, opts.messages, Math.min(1_000, opts.requests), 200);
      const longResult = await measure(agent, url2, reader.token, long, opts.messages, opts.requests, 200);
      const shortResult = await measure(agent, url2, reader.token, short, 1_000, opts.requests, 200);
      return { pageSize: 50, requestsPerSecond: 200, loadSeconds: Math.round(loadSeconds), long: longResult, short: shortResult };
    } finally {
      await running.stop();
    }
  } finally {
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
