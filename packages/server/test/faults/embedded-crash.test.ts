import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Device, Ledger, checkInvariant, startTraffic } from '../support/delivery-ledger.js';
import { http, newUser } from '../support/http.js';
import { killServer, spawnServer, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/redis-server.js';
import { sleep, until } from '../support/wait.js';
import { anotherToken, api, faultClient, openDevice } from './fault-kit.js';

/*
 * The embedded server (SQLite, synchronous=FULL as shipped) is killed with
 * SIGKILL while messages stream in, and restarted on the same data directory
 * and port. The clients are plain SDK clients: they notice, reconnect, resend
 * what was not acknowledged and sync.
 */

const dir = mkdtempSync(join(tmpdir(), 'confab-fault-embedded-'));
let server: ServerProcess | undefined;
const devices: Device[] = [];

afterAll(async () => {
  for (const d of devices) d.client.close();
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded server killed mid-stream', () => {
  it('SIGKILL twice while seven devices send and receive: every acknowledged message is stored once and delivered once per device, in order', async () => {
    const port = await freePort();
    // Same port on every start, so the clients find the restarted server where they left it.
    // A few devices stand in for many users' traffic: no per-device send limit.
    const env = { DATA_DIR: dir, PORT: String(port), HEARTBEAT_MS: '1000', PRESENCE_TIMEOUT_MS: '5000', SEND_MESSAGES_PER_SECOND: '0' };
    server = await spawnServer(env);
    const url = server.url;

    const [ana, ben, cy, dee] = await Promise.all(['ana', 'ben', 'cy', 'dee'].map((p) => newUser(url, p)));
    const channel = async (token: string, path: string, body: unknown) => (await http(url, 'POST', path, { token, body })).body.channel.id as string;
    const anaBen = await channel(ana!.token, '/v1/channels/direct', { userId: ben!.user.id });
    const cyDee = await channel(cy!.token, '/v1/channels/direct', { userId: dee!.user.id });
    const crew = await channel(ana!.token, '/v1/channels', { name: 'crew', memberIds: [ben!.user.id, cy!.user.id, dee!.user.id] });

    const open = async (name: string, user: typeof ana, token = user!.token) => {
      const d = await openDevice(url, name, user!.user.id, token);
      devices.push(d);
      return d;
    };
    const anaPhone = await open('ana-phone', ana);
    const anaLaptop = await open('ana-laptop', ana, await anotherToken(url, ana!, 'laptop'));
    const benPhone = await open('ben-phone', ben);
    const benLaptop = await open('ben-laptop', ben, await anotherToken(url, ben!, 'laptop'));
    const cyPhone = await open('cy-phone', cy);
    const deePhone = await open('dee-phone', dee);
    // This one goes away before the first crash and comes back, from its saved state, after the second.
    const deeTablet = await open('dee-tablet', dee, await anotherToken(url, dee!, 'tablet'));

    const ledger = new Ledger();
    const traffic = startTraffic(
      ledger,
      [
        { device: anaPhone, channelId: anaBen },
        { device: anaPhone, channelId: crew },
        { device: benLaptop, channelId: anaBen },
        { device: cyPhone, channelId: cyDee },
        { device: cyPhone, channelId: crew },
        { device: deePhone, channelId: cyDee },
        { device: deePhone, channelId: crew },
      ],
      { everyMs: 15, label: 'live' },
    );

    const inFlightAtKill: number[] = [];
    const crash = async (downMs: number) => {
      await until(() => ledger.ackCount >= inFlightAtKill.length * 400 + 300, 30_000, 'acks before the crash');
      // A burst just before the kill: whatever the server commits of it before it dies
      // without its ack arriving comes back as a resend, to be stored once.
      for (let i = 0; i < 20; i++) ledger.send(anaPhone, i % 2 ? crew : anaBen, `burst ${inFlightAtKill.length} #${i}`);
      // A few milliseconds in, the server is reading, committing or acknowledging the burst.
      await sleep(2 + inFlightAtKill.length * 3);
      inFlightAtKill.push(ledger.sentCount - ledger.ackCount);
      server!.child.kill('SIGKILL');
      expect((await server!.exited).signal).toBe('SIGKILL');
      await sleep(downMs);
      server = await spawnServer(env);
      expect(server.url).toBe(url);
    };

    await until(() => ledger.ackCount >= 150, 30_000, 'first acks');
    const tabletState = deeTablet.client.getSyncState();
    deeTablet.client.close();
    await crash(800);
    await crash(0);
    // Service resumed: acknowledgements keep coming after the second restart.
    const afterRestart = ledger.ackCount;
    await until(() => ledger.ackCount >= afterRestart + 300, 30_000, 'acks after the restart');
    deeTablet.attach(faultClient(url, deeTablet.token, { syncState: tabletState }));
    await deeTablet.client.connect();
    traffic.stop();

    const reader = (id: string) => (id === cyDee ? api(url, cy!.token) : api(url, ana!.token));
    const { problems, histories } = await checkInvariant({
      ledger,
      reader,
      devices: [
        { device: anaPhone, channels: [anaBen, crew] },
        { device: anaLaptop, channels: [anaBen, crew] },
        { device: benPhone, channels: [anaBen, crew] },
        { device: benLaptop, channels: [anaBen, crew] },
        { device: cyPhone, channels: [cyDee, crew] },
        { device: deePhone, channels: [cyDee, crew] },
        { device: deeTablet, channels: [cyDee, crew] },
      ],
    });
    console.log(
      `embedded crash: ${ledger.sentCount} sent, ${ledger.ackCount} acknowledged (${ledger.duplicateAcks} as duplicates of a commit whose ack was lost); unacknowledged sends in flight at each SIGKILL: ${inFlightAtKill.join(', ')}; ` +
        `stored: ${[...histories].map(([id, h]) => `${id === crew ? 'group' : 'direct'} ${h.length}`).join(', ')}`,
    );
    expect(problems).toEqual([]);
  });
});
