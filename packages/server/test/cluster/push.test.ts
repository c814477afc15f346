import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, login, newUser } from '../support/http.js';
import { pushesTo, registerWebPush, startPushEnv, type PushEnv } from '../support/push-env.js';
import { waitFor } from '../support/sdk.js';
import { postgresAvailable, redisAvailable } from '../support/services.js';
import type { WebPushSubscription } from '../support/push-services.js';
import { startCluster, type Cluster } from './cluster-harness.js';

/*
 * Two real server processes share PostgreSQL and Redis, and both run the
 * push worker. Every due push must be sent exactly once: the jobs are
 * claimed with FOR UPDATE SKIP LOCKED and leased, so the nodes never both
 * take one.
 */

const run = postgresAvailable && redisAvailable;
let env: PushEnv;
let cluster: Cluster;

beforeAll(async () => {
  if (!run) return;
  env = await startPushEnv();
  // A cluster shares one VAPID key pair, given to every node.
  const vapid = webpush.generateVAPIDKeys();
  cluster = await startCluster(2, {
    ...env.env,
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@confab.org',
    PUSH_POLL_MS: '10',
  });
}, 60_000);
afterAll(async () => {
  if (!run) return;
  await cluster?.stop();
  await env?.close();
});

async function attemptsOn(url: string): Promise<number> {
  const text = (await fetch(`${url}/metrics`).then((r) => r.text())) as string;
  return [...text.matchAll(/^confab_push_attempts_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe.runIf(run)('push on two nodes', () => {
  it('sends each due push once, whichever node takes it', async () => {
    const [one, two] = cluster.nodes.map((n) => n.url) as [string, string];
    const alice = await newUser(one, 'pa');
    // Forty offline devices of twenty users, registered through both nodes.
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => newUser(i % 2 ? one : two, `pu${i}`)));
    const subs: WebPushSubscription[] = [];
    for (const [i, u] of users.entries()) {
      const phone = await login(i % 2 ? two : one, u.username, u.password, 'phone');
      subs.push(await registerWebPush(one, u.token, env.webPush), await registerWebPush(two, phone.token, env.webPush));
    }
    const ch = (await http(one, 'POST', '/v1/channels', { token: alice.token, body: { name: 'Everyone', memberIds: users.map((u) => u.user.id) } })).body.channel.id;

    for (let round = 1; round <= 3; round++) {
      await http(round % 2 ? one : two, 'POST', `/v1/channels/${ch}/messages`, { token: alice.token, body: { clientId: `r${round}`, text: `round ${round}` } });
      await waitFor(() => subs.every((s) => pushesTo(env.webPush, s).length === round), 10_000, `round ${round} pushes`);
    }
    // Give a duplicate every chance to show up.
    await new Promise((r) => setTimeout(r, 1_500));
    for (const s of subs) expect(pushesTo(env.webPush, s).map((p) => p.payload.preview)).toEqual(['round 1', 'round 2', 'round 3']);
    const [a, b] = await Promise.all([attemptsOn(one), attemptsOn(two)]);
    expect(a + b).toBe(subs.length * 3);
    expect(env.webPush.errors).toEqual([]);
  }, 60_000);
});
