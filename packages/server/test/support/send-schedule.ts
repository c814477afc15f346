import fc from 'fast-check';
import { expect } from 'vitest';
import type { ErrorCode, HistoryResponse, Message, SendResponse, ServerFrame, SyncResponse } from '@confab/protocol';
import type { ConfabClient } from '@confab/sdk';
import { http, login, newUser } from './http.js';
import { RawSocket } from './raw-socket.js';
import { client } from './sdk.js';
import { until } from './wait.js';

/*
 * Generated schedules of concurrent sends, run against real servers (one node
 * or several), and the ordering rules every run must keep. Shared by the
 * one-node property test (both configurations) and the cluster one.
 *
 * A send is identified by (channel, sending device, client id). Its text is a
 * function of that key, so any repeat of a key is a retry; a "conflicting"
 * op reuses a committed key with another text.
 */

/** Few client ids, so that retries and the reuse of one id across channels and devices are common. */
const CLIENT_IDS = ['a', 'retry-me', '"q"\\', '{}', 'x'.repeat(64)] as const;

export interface SendOp {
  device: number;
  channel: number;
  clientId: number;
  via: 'ws' | 'http';
  /** Same key as a send committed in an earlier round, with other text (refused). */
  conflicting: boolean;
  /** HTTP sends go to this node (WebSocket sends go through the device's node). */
  node: number;
}
export interface RoundPlan {
  ops: SendOp[];
  /** A cursor is taken after this many ops were fired, while they are in flight. */
  cut: number;
  cursorDevice: number;
}
export interface Schedule {
  devicesPerUser: number[];
  deviceNode: number[];
  /** User indices; the first one opens or creates the channel. */
  channels: { group: boolean; members: number[] }[];
  rounds: RoundPlan[];
  /** Page sizes of the history and sync reads that check the run. */
  pageSize: number;
  syncPageSize: number;
}

export function scheduleArb(opts: { nodes: number; maxUsers: number; maxRounds: number; maxOps: number }): fc.Arbitrary<Schedule> {
  const op = fc.record({
    device: fc.nat({ max: opts.maxUsers * 2 - 1 }),
    channel: fc.nat({ max: 2 }),
    clientId: fc.nat({ max: CLIENT_IDS.length - 1 }),
    via: fc.constantFrom('ws' as const, 'http' as const),
    conflicting: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    node: fc.nat({ max: opts.nodes - 1 }),
  });
  return fc.record({
    devicesPerUser: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 2, maxLength: opts.maxUsers }),
    deviceNode: fc.array(fc.nat({ max: opts.nodes - 1 }), { minLength: opts.maxUsers * 2, maxLength: opts.maxUsers * 2 }),
    channels: fc.array(fc.record({ group: fc.boolean(), members: fc.uniqueArray(fc.nat({ max: opts.maxUsers - 1 }), { minLength: 2, maxLength: opts.maxUsers }) }), { minLength: 1, maxLength: 3 }),
    rounds: fc.array(fc.record({ ops: fc.array(op, { minLength: 1, maxLength: opts.maxOps }), cut: fc.nat({ max: opts.maxOps }), cursorDevice: fc.nat({ max: opts.maxUsers * 2 - 1 }) }), { minLength: 1, maxLength: opts.maxRounds }),
    pageSize: fc.integer({ min: 1, max: 7 }),
    syncPageSize: fc.integer({ min: 1, max: 3 }),
  });
}

export interface RunOptions {
  urls: string[];
  /**
   * One node: frames reach every socket in seq order. Several nodes: only the
   * frames committed through one node keep their order on the wire (the SDK
   * orders the rest), so each device also runs an SDK client whose app-level
   * stream must be exactly the channel, in order.
   */
  cluster: boolean;
}

interface Device {
  index: number;
  user: number;
  userId: string;
  token: string;
  url: string;
  node: number;
  socket?: RawSocket;
  /** Message frames as they arrived on the raw socket. */
  wire: Message[];
  /** ack / error frames by client id, as they arrived. */
  answers: Map<string, ServerFrame[]>;
  other: ServerFrame[];
  sdk?: ConfabClient;
  app: Message[];
}

interface Attempt {
  key: string;
  device: Device;
  channelId: string;
  clientId: string;
  text: string;
  via: 'ws' | 'http';
  node: number;
  expect: 'ack' | 'not_member' | 'idempotency_conflict';
  /** In the part of the round fired after the round's mid-flight cursor. */
  late: boolean;
  http?: Promise<{ status: number; body: SendResponse & { code?: ErrorCode; retryable?: boolean } }>;
}

interface Checkpoint {
  user: number;
  cursor: string;
  /** Channel heads when the cursor was taken (nothing in flight). */
  heads: Map<string, number>;
}
interface MidCursor {
  user: number;
  cursor: string;
  round: number;
  /** Channels with a send first fired after the cursor came back. */
  after: Set<string>;
}

const textOf = (key: string, conflicting: boolean) => `${key}${conflicting ? ' (edited)' : ''}`;

async function readAll(url: string, token: string, channelId: string, after: number, limit: number): Promise<Message[]> {
  const out: Message[] = [];
  for (let pages = 0; ; pages++) {
    expect(pages, 'history paging does not end').toBeLessThan(1_000);
    const res = await http<HistoryResponse>(url, 'GET', `/v1/channels/${channelId}/messages?after=${after}&limit=${limit}`, { token });
    expect(res.status).toBe(200);
    out.push(...res.body.messages);
    if (!res.body.hasMore) return out;
    expect(res.body.messages.length).toBeGreaterThan(0);
    after = res.body.messages.at(-1)!.seq;
  }
}

async function syncAll(url: string, token: string, cursor: string, limit: number): Promise<SyncResponse['channels']> {
  const entries: SyncResponse['channels'] = [];
  for (let pages = 0; ; pages++) {
    expect(pages, 'sync paging does not end').toBeLessThan(1_000);
    const res = await http<SyncResponse>(url, 'GET', `/v1/sync?cursor=${encodeURIComponent(cursor)}&limit=${limit}`, { token });
    expect(res.status).toBe(200);
    entries.push(...res.body.channels);
    cursor = res.body.cursor;
    if (!res.body.hasMore) return entries;
  }
}

async function headCursor(device: Device): Promise<string> {
  const res = await http<SyncResponse>(device.url, 'GET', '/v1/sync', { token: device.token });
  expect(res.status).toBe(200);
  return res.body.cursor;
}

/** Runs one schedule and checks every ordering rule on it; throws (an expect failure) on the first broken one. */
export async function runSchedule(s: Schedule, opts: RunOptions): Promise<void> {
  const { urls } = opts;
  const users = s.devicesPerUser.length;
  const devices: Device[] = [];
  const userIds: string[] = [];
  try {
    // --- accounts, devices, channels ------------------------------------------------
    for (let u = 0; u < users; u++) {
      let username = '';
      let password = '';
      for (let d = 0; d < s.devicesPerUser[u]!; d++) {
        const index = devices.length;
        const node = s.deviceNode[index]! % urls.length;
        const url = urls[node]!;
        let session;
        if (d === 0) {
          const created = await newUser(url, `ord${u}`);
          ({ username, password } = created);
          userIds.push(created.user.id);
          session = created;
        } else {
          session = await login(url, username, password, `device ${d}`);
        }
        devices.push({ index, user: u, userId: session.user.id, token: session.token, url, node, wire: [], answers: new Map(), other: [], app: [] });
      }
    }
    const firstDevice = (u: number) => devices.find((d) => d.user === u)!;

    const channelOf: string[] = [];
    const members = new Map<string, Set<number>>();
    const start = new Map<string, number>();
    for (const plan of s.channels) {
      const ids = [...new Set(plan.members.map((m) => m % users))];
      if (ids.length < 2) ids.splice(0, ids.length, 0, 1);
      const owner = firstDevice(ids[0]!);
      const res = plan.group
        ? await http(urls[0]!, 'POST', '/v1/channels', { token: owner.token, body: { name: `g${channelOf.length}`, memberIds: ids.slice(1).map((u) => userIds[u]) } })
        : await http(urls[0]!, 'POST', '/v1/channels/direct', { token: owner.token, body: { userId: userIds[ids[1]!] } });
      expect([200, 201]).toContain(res.status);
      const id = res.body.channel.id as string;
      channelOf.push(id);
      members.set(id, new Set(plan.group ? ids : ids.slice(0, 2)));
      start.set(id, res.body.channel.lastSeq as number);
    }
    const channels = [...members.keys()];
    const channelsOf = (u: number) => channels.filter((c) => members.get(c)!.has(u));

    // --- connections ----------------------------------------------------------------
    const before: Checkpoint[] = [];
    for (let u = 0; u < users; u++) before.push({ user: u, cursor: await headCursor(firstDevice(u)), heads: new Map(start) });
    for (const d of devices) {
      const sock = await RawSocket.open(d.url, d.token);
      d.socket = sock;
      sock.ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as ServerFrame;
        if (f.type === 'message') d.wire.push(f.message);
        else if ((f.type === 'ack' || f.type === 'error') && f.id !== undefined) {
          let list = d.answers.get(f.id);
          if (!list) d.answers.set(f.id, (list = []));
          list.push(f);
        } else if (f.type === 'error') d.other.push(f);
      });
      if (opts.cluster) {
        // Resumes from the state right after setup, so its stream must be exactly what follows.
        const have = Object.fromEntries(channelsOf(d.user).map((c) => [c, start.get(c)!]));
        const sdk = client(d.url, d.token, { discovery: false, syncState: { cursor: before[d.user]!.cursor, have } });
        sdk.on('message', (m) => d.app.push(m));
        d.sdk = sdk;
        await sdk.connect();
      }
    }

    // --- rounds ---------------------------------------------------------------------
    const seqOf = new Map<string, number>();
    const heads = new Map(start);
    const checkpoints: Checkpoint[] = [...before];
    const mids: MidCursor[] = [];
    /** Per channel, the round of every first commit (for the mid-flight cursor bounds). */
    const commitRounds = new Map<string, number[]>();
    /** Nodes each key was sent through (for the cluster's per-node order). */
    const nodesOf = new Map<string, Set<number>>();
    const attempted = new Set<string>();

    for (const [round, plan] of s.rounds.entries()) {
      const attempts: Attempt[] = [];
      const wsSent = new Map<Device, Map<string, number>>();
      const fire = (op: SendOp, late: boolean) => {
        const device = devices[op.device % devices.length]!;
        const channelId = channelOf[op.channel % channelOf.length]!;
        const clientId = CLIENT_IDS[op.clientId]!;
        const key = `d${device.index} ${channelId} ${clientId}`;
        const member = members.get(channelId)!.has(device.user);
        const conflicting = op.conflicting && seqOf.has(key);
        const node = op.via === 'ws' ? device.node : op.node % urls.length;
        const a: Attempt = { key, device, channelId, clientId, text: textOf(key, conflicting), via: op.via, node, expect: !member ? 'not_member' : conflicting ? 'idempotency_conflict' : 'ack', late: late && !attempted.has(key) };
        attempted.add(key);
        if (a.expect === 'ack') {
          let set = nodesOf.get(key);
          if (!set) nodesOf.set(key, (set = new Set()));
          set.add(node);
        }
        if (op.via === 'ws') {
          device.socket!.send({ type: 'send', id: clientId, channelId, text: a.text });
          let sent = wsSent.get(device);
          if (!sent) wsSent.set(device, (sent = new Map()));
          sent.set(clientId, (sent.get(clientId) ?? 0) + 1);
        } else {
          a.http = http(urls[node]!, 'POST', `/v1/channels/${channelId}/messages`, { token: device.token, body: { clientId, text: a.text } });
        }
        attempts.push(a);
      };
      const answered = new Map<Device, Map<string, number>>();
      for (const d of devices) answered.set(d, new Map([...d.answers].map(([id, list]) => [id, list.length])));

      const cut = plan.cut % (plan.ops.length + 1);
      plan.ops.slice(0, cut).forEach((op) => fire(op, false));
      const cursorDevice = devices[plan.cursorDevice % devices.length]!;
      const mid = await headCursor(cursorDevice);
      plan.ops.slice(cut).forEach((op) => fire(op, true));

      await Promise.all(attempts.map((a) => a.http));
      await until(
        () => [...wsSent].every(([d, sent]) => [...sent].every(([id, n]) => (d.answers.get(id)?.length ?? 0) - (answered.get(d)!.get(id) ?? 0) >= n)),
        15_000,
        `answers to the WebSocket sends of round ${round}`,
      );

      // Answers: per attempt over HTTP; over WebSocket per (device, client id), since an error frame names no channel.
      const acks = new Map<string, { seq: number; duplicate: boolean }[]>();
      const addAck = (key: string, seq: number, duplicate: boolean) => {
        let list = acks.get(key);
        if (!list) acks.set(key, (list = []));
        list.push({ seq, duplicate });
      };
      for (const a of attempts.filter((x) => x.via === 'http')) {
        const res = await a.http!;
        if (a.expect === 'ack') {
          expect(res.status, `${a.key}: ${JSON.stringify(res.body)}`).toBe(res.body.duplicate ? 200 : 201);
          expect(res.body.channelId).toBe(a.channelId);
          addAck(a.key, res.body.seq, res.body.duplicate);
        } else {
          expect(res.body, a.key).toMatchObject({ code: a.expect, retryable: false });
        }
      }
      for (const [d, sent] of wsSent) {
        for (const id of sent.keys()) {
          const got = d.answers.get(id)!.slice(answered.get(d)!.get(id) ?? 0);
          const mine = attempts.filter((a) => a.via === 'ws' && a.device === d && a.clientId === id);
          expect(got).toHaveLength(mine.length);
          const errors = got.filter((f) => f.type === 'error').map((f) => (f as { code: string; retryable: boolean }));
          expect(errors.every((e) => !e.retryable), JSON.stringify(errors)).toBe(true);
          expect(errors.map((e) => e.code).sort()).toEqual(mine.filter((a) => a.expect !== 'ack').map((a) => a.expect).sort());
          for (const f of got) {
            if (f.type !== 'ack') continue;
            const a = mine.find((x) => x.expect === 'ack' && x.channelId === f.channelId);
            expect(a, `an ack for ${f.channelId} that no send of ${id} asked for`).toBeDefined();
            addAck(a!.key, f.seq, f.duplicate);
          }
          for (const c of new Set(mine.filter((a) => a.expect === 'ack').map((a) => a.channelId))) {
            expect(got.filter((f) => f.type === 'ack' && f.channelId === c)).toHaveLength(mine.filter((a) => a.expect === 'ack' && a.channelId === c).length);
          }
        }
      }
      for (const d of devices) expect(d.other, `device ${d.index} got errors for no send`).toEqual([]);

      // (c) A retried client id never makes a second message: one seq per key, one first ack ever.
      for (const [key, list] of acks) {
        const seqs = new Set(list.map((x) => x.seq));
        expect(seqs.size, `${key} acked with seqs ${[...seqs]}`).toBe(1);
        const seq = list[0]!.seq;
        const firsts = list.filter((x) => !x.duplicate).length;
        if (seqOf.has(key)) {
          expect(seq, `${key} retried after its commit`).toBe(seqOf.get(key));
          expect(firsts, `${key} retried after its commit`).toBe(0);
        } else {
          expect(firsts, `${key} first acks`).toBe(1);
          seqOf.set(key, seq);
          const channelId = attempts.find((a) => a.key === key)!.channelId;
          heads.set(channelId, Math.max(heads.get(channelId)!, seq));
          let rounds = commitRounds.get(channelId);
          if (!rounds) commitRounds.set(channelId, (rounds = []));
          rounds.push(round);
        }
      }

      // One socket's sends into one channel commit in the order they were written.
      for (const d of devices) {
        for (const c of channels) {
          const firstTime = attempts.filter((a) => a.device === d && a.channelId === c && a.expect === 'ack' && a.via === 'ws' && !attempts.some((b) => b.key === a.key && b.via === 'http'));
          const order = [...new Set(firstTime.map((a) => a.key))].filter((k) => acks.get(k)!.some((x) => !x.duplicate)).map((k) => seqOf.get(k)!);
          expect(order, `device ${d.index} socket order in ${c}`).toEqual([...order].sort((x, y) => x - y));
        }
      }

      mids.push({ user: cursorDevice.user, cursor: mid, round, after: new Set(attempts.filter((a) => a.late && a.expect === 'ack').map((a) => a.channelId)) });
      for (let u = 0; u < users; u++) checkpoints.push({ user: u, cursor: await headCursor(firstDevice(u)), heads: new Map(heads) });
    }

    // --- (a) per channel: seqs 1..n without gaps, each committed key exactly once at its seq
    const history = new Map<string, Message[]>();
    for (const c of channels) {
      const reader = firstDevice([...members.get(c)!][0]!);
      const all = await readAll(reader.url, reader.token, c, 0, 200);
      expect(all.map((m) => m.seq), `seqs of ${c}`).toEqual(all.map((_, i) => i + 1));
      const summary = await http(reader.url, 'GET', `/v1/channels/${c}`, { token: reader.token });
      expect(summary.body.channel.lastSeq).toBe(all.length);
      expect(all.length).toBe(heads.get(c));
      const fresh = all.slice(start.get(c)!);
      const expected = [...seqOf].filter(([key]) => key.split(' ')[1] === c).sort((x, y) => x[1] - y[1]);
      expect(fresh.map((m) => [m.text, m.seq])).toEqual(expected.map(([key, seq]) => [textOf(key, false), seq]));
      for (const m of fresh) {
        const device = devices[Number(m.text.split(' ')[0]!.slice(1))]!;
        expect(m).toMatchObject({ kind: 'text', senderId: device.userId, clientId: m.text.split(' ').slice(2).join(' ') });
      }
      history.set(c, all);
    }

    // --- (b) every member device reads the same channel, in pages
    await Promise.all(
      devices.flatMap((d) =>
        channelsOf(d.user).map(async (c) => expect(await readAll(d.url, d.token, c, 0, s.pageSize), `device ${d.index} reading ${c}`).toEqual(history.get(c))),
      ),
    );

    // --- (d) sync from every cursor of the run gives exactly what came after it
    const fromCheckpoint = async (cp: Checkpoint) => {
      const d = firstDevice(cp.user);
      const entries = await syncAll(d.url, d.token, cp.cursor, s.syncPageSize);
      const ids = entries.map((e) => e.channelId);
      expect(new Set(ids).size, 'a channel listed twice by one sync').toBe(ids.length);
      const changed = channelsOf(cp.user).filter((c) => history.get(c)!.length > cp.heads.get(c)!);
      expect([...ids].sort(), `sync of user ${cp.user} from ${cp.cursor}`).toEqual([...changed].sort());
      for (const e of entries) {
        const all = history.get(e.channelId)!;
        expect(e.lastSeq).toBe(all.length);
        const missed = await readAll(d.url, d.token, e.channelId, cp.heads.get(e.channelId)!, s.pageSize);
        expect(missed).toEqual(all.slice(cp.heads.get(e.channelId)!));
      }
    };
    const fromMidRound = async (m: MidCursor) => {
      // Taken while sends were in flight: a channel must be listed if a send went out after the
      // cursor came back, and may be only if something was committed in this round or later.
      const d = firstDevice(m.user);
      const ids = new Set((await syncAll(d.url, d.token, m.cursor, s.syncPageSize)).map((e) => e.channelId));
      const mine = channelsOf(m.user);
      const must = mine.filter((c) => m.after.has(c) || (commitRounds.get(c) ?? []).some((r) => r > m.round));
      const may = mine.filter((c) => (commitRounds.get(c) ?? []).some((r) => r >= m.round));
      for (const c of must) expect(ids.has(c), `mid-round cursor of round ${m.round} misses ${c}`).toBe(true);
      for (const c of ids) expect(may, `mid-round cursor of round ${m.round} lists unchanged ${c}`).toContain(c);
    };
    await Promise.all([...checkpoints.map(fromCheckpoint), ...mids.map(fromMidRound)]);

    // --- live delivery: every member socket gets every message once
    const expectedLive = (d: Device) => new Map(channelsOf(d.user).map((c) => [c, history.get(c)!.slice(start.get(c)!)]));
    await until(
      () => devices.every((d) => [...expectedLive(d)].every(([c, list]) => d.wire.filter((m) => m.channelId === c).length >= list.length && (!d.sdk || d.app.filter((m) => m.channelId === c).length >= list.length))),
      15_000,
      'live delivery to every member device',
    );
    for (const d of devices) {
      const live = expectedLive(d);
      expect(d.wire.filter((m) => !live.has(m.channelId)), `device ${d.index} got messages of channels it is not in`).toEqual([]);
      for (const [c, list] of live) {
        const got = d.wire.filter((m) => m.channelId === c);
        if (!opts.cluster) {
          expect(got, `device ${d.index} live order in ${c}`).toEqual(list);
          continue;
        }
        expect([...got].sort((x, y) => x.seq - y.seq), `device ${d.index} live set in ${c}`).toEqual(list);
        // Frames committed through one node leave it, and reach every node, in seq order.
        for (let n = 0; n < urls.length; n++) {
          const seqs = got.filter((m) => {
            const nodes = nodesOf.get(m.text);
            return nodes?.size === 1 && nodes.has(n);
          }).map((m) => m.seq);
          expect(seqs, `device ${d.index} frames from node ${n} in ${c}`).toEqual([...seqs].sort((x, y) => x - y));
        }
        expect(d.app.filter((m) => m.channelId === c), `device ${d.index} SDK stream of ${c}`).toEqual(list);
      }
    }
  } finally {
    for (const d of devices) d.sdk?.close();
    await Promise.all(devices.map((d) => d.socket?.close()));
  }
}
