/*
 * Self-check for the baseline targets: each one is started, given a small
 * plan, driven through its driver exactly as a load worker would load it
 * (by driverModule name), and must deliver every message to every member of
 * the room (and only them) and ack every send. Then the floor runs briefly.
 *
 *   node --import tsx bench/baselines/self-check.ts
 *
 * Correctness only: nothing here is timed except the overall deadline that
 * keeps a hang from running forever.
 */
import assert from 'node:assert/strict';
import type { Conn, Driver, RoomPlan, Target } from '../lib/driver.js';
import { runFloor } from './floor.js';

const DEADLINE_MS = 20_000;
const MESSAGES = 50;

// 8 clients; 3 rooms of 4; clients 0, 2, 4 and 6 are in two rooms, so joining several rooms is covered.
const plan: RoomPlan = {
  clients: 8,
  rooms: [{ members: [0, 1, 2, 3] }, { members: [4, 5, 6, 7] }, { members: [0, 2, 4, 6] }],
};

async function check(targetModule: string): Promise<void> {
  const { target } = (await import(`../lib/drivers/${targetModule}.ts`)) as { target: Target };
  const { driver } = (await import(`../lib/drivers/${target.driverModule}.ts`)) as { driver: Driver };
  const running = await target.start({ port: 0 });
  try {
    const specs = await target.provision(running, plan);
    assert.equal(specs.length, plan.clients);

    // received[client] = texts delivered to that client, keyed by room id.
    const received = specs.map(() => new Map<string, string[]>());
    const acked = new Set<string>();
    const closed: number[] = [];
    const conns: Conn[] = await Promise.all(
      specs.map((spec, i) =>
        driver.connect(running.urls[i % running.urls.length]!, spec, {
          onDeliver(roomId, text) {
            const texts = received[i]!.get(roomId) ?? [];
            texts.push(text);
            received[i]!.set(roomId, texts);
          },
          onAck: (id) => acked.add(id),
          onClose: (code) => closed.push(code),
        }),
      ),
    );

    const expected = specs.map(() => new Map<string, string[]>());
    for (let n = 0; n < MESSAGES; n++) {
      const roomIndex = n % plan.rooms.length;
      const members = plan.rooms[roomIndex]!.members;
      const sender = members[n % members.length]!;
      const roomId = specs[sender]!.rooms.find((r) => r.index === roomIndex)!.id;
      // Non-ASCII and JSON-special characters: text must come back exactly as sent.
      const text = `m${n} "quoted" \\ é 💬`;
      for (const m of members) expected[m]!.set(roomId, [...(expected[m]!.get(roomId) ?? []), text]);
      conns[sender]!.send(roomId, `id${n}`, text);
    }

    const total = (maps: Map<string, string[]>[]) => maps.reduce((sum, m) => sum + [...m.values()].reduce((s, t) => s + t.length, 0), 0);
    const want = total(expected);
    while (acked.size < MESSAGES || total(received) < want) await new Promise((r) => setTimeout(r, 10));
    // A little longer, so a duplicate or a delivery to a non-member would show up.
    await new Promise((r) => setTimeout(r, 100));

    for (let n = 0; n < MESSAGES; n++) assert.ok(acked.has(`id${n}`), `send id${n} acked`);
    // Senders rotate over a room's members, so only each room's set of messages is defined, not its order.
    const sorted = (m: Map<string, string[]>) => Object.fromEntries([...m].map(([room, texts]) => [room, [...texts].sort()]));
    received.forEach((got, i) => {
      assert.deepEqual(sorted(got), sorted(expected[i]!), `client ${i} got exactly its rooms' messages`);
    });

    // drop() must end the connection without a close handshake; close() must resolve.
    conns[0]!.drop();
    await Promise.all(conns.slice(1).map((c) => c.close()));
    while (closed.length < conns.length) await new Promise((r) => setTimeout(r, 10));
    console.log(`${target.name}: ok (${MESSAGES} sends, ${want} deliveries, close codes ${[...new Set(closed)].sort().join(',')})`);
  } finally {
    await running.stop();
  }
}

const deadline = setTimeout(() => {
  console.error(`self-check: not done after ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

try {
  await check('ws-relay');
  await check('socketio');
  const floor = await runFloor({ connections: 100, messageBytes: 100, seconds: 0.5 });
  assert.ok(floor.writes > 0 && floor.writes === floor.messages, 'floor wrote');
  const batched = await runFloor({ connections: 100, messageBytes: 100, seconds: 0.5, batch: 4 });
  assert.equal(batched.messages, batched.writes * 4, 'floor batched');
  console.log(`floor: ok (${floor.writesPerCpuSecond} writes/cpu-s; batch 4: ${batched.messagesPerCpuSecond} messages/cpu-s)`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
}
