import { randomUUID } from 'node:crypto';
import type { ConfabApi, ConfabClient, Message, SendAck } from '@confab/sdk';
import { sleep } from './wait.js';

/*
 * The invariant the fault and soak suites check: every acknowledged message
 * is stored once, delivered once per device, in order. Senders record what
 * they sent and what was acknowledged; at the end the stored history of each
 * channel and what every device emitted are compared with that record.
 * Checks return lists of violations (empty when the invariant holds), so a
 * failure shows everything that went wrong, not just the first difference.
 */

/** One logged-in device: its current client and every message it emitted, per channel. */
export class Device {
  readonly log = new Map<string, Message[]>();
  /** Per channel: the seq the device already held when watching started; delivery is checked above it. */
  readonly from = new Map<string, number>();
  private detach: () => void = () => undefined;

  constructor(
    readonly name: string,
    readonly userId: string,
    readonly token: string,
    public client: ConfabClient,
  ) {
    this.attach(client);
  }

  /** A device whose client runs in another process: its log and starting points are filled in from a report. */
  static remote(name: string, userId: string): Device {
    const elsewhere = { on: () => () => undefined, getSyncState: () => ({ cursor: null, have: {} }) } as unknown as ConfabClient;
    return new Device(name, userId, '', elsewhere);
  }

  /** Follows another client of the same device (e.g. recreated from its saved sync state); the log continues. */
  attach(client: ConfabClient): void {
    this.detach();
    this.client = client;
    this.detach = client.on('message', (m) => {
      let list = this.log.get(m.channelId);
      if (!list) this.log.set(m.channelId, (list = []));
      list.push(m);
    });
  }

  /** Records, once, where each channel the client knows starts (call after connect). */
  noteStart(): void {
    for (const [channelId, seq] of Object.entries(this.client.getSyncState().have)) {
      if (!this.from.has(channelId)) this.from.set(channelId, seq);
    }
  }
}

interface Sent {
  device: Device;
  channelId: string;
  clientId: string;
  text: string;
  ack?: SendAck;
  /** When the ack arrived (Date.now()). */
  ackedAt?: number;
  sentAt: number;
  error?: unknown;
  done: Promise<void>;
}

/** What the test sent, in order per device, and what was acknowledged. */
export class Ledger {
  private readonly sent: Sent[] = [];
  private acked = 0;

  get ackCount(): number {
    return this.acked;
  }

  get sentCount(): number {
    return this.sent.length;
  }

  /** Acks that said `duplicate`: a resend of a message whose first ack was lost (e.g. in a crash). */
  get duplicateAcks(): number {
    return this.sent.filter((s) => s.ack?.duplicate).length;
  }

  /** Sends through the device's client with a client id chosen here, and records the outcome. */
  send(device: Device, channelId: string, text: string): void {
    const clientId = randomUUID();
    const entry = { device, channelId, clientId, text, sentAt: Date.now() } as Sent;
    entry.done = device.client.send(channelId, text, { clientId }).then(
      (ack) => {
        entry.ack = ack;
        entry.ackedAt = Date.now();
        this.acked++;
      },
      (err: unknown) => {
        entry.error = err;
      },
    );
    this.sent.push(entry);
  }

  /** Records a send acknowledged outside the SDK (e.g. on a raw socket). */
  recordAck(device: Device, channelId: string, clientId: string, text: string, ack: SendAck): void {
    this.sent.push({ device, channelId, clientId, text, ack, ackedAt: Date.now(), sentAt: Date.now(), done: Promise.resolve() });
    this.acked++;
  }

  /** Acks that arrived within [from, to). */
  acksBetween(from: number, to: number): number {
    return this.sent.filter((s) => s.ackedAt !== undefined && s.ackedAt >= from && s.ackedAt < to).length;
  }

  /** Sends made within [from, to) and, of those acknowledged, the longest wait for the ack. */
  sendsBetween(from: number, to: number): { count: number; acked: number; longestWaitMs: number } {
    const made = this.sent.filter((s) => s.sentAt >= from && s.sentAt < to);
    const waits = made.filter((s) => s.ackedAt !== undefined).map((s) => s.ackedAt! - s.sentAt);
    return { count: made.length, acked: waits.length, longestWaitMs: Math.max(0, ...waits) };
  }

  channels(): string[] {
    return [...new Set(this.sent.map((s) => s.channelId))];
  }

  /** Waits until every send is acknowledged or refused; the unsettled ones are violations after the deadline. */
  async settle(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const settled = new Set<Sent>();
    for (const s of this.sent) void s.done.then(() => settled.add(s));
    while (settled.size < this.sent.length && Date.now() < deadline) await sleep(50);
    const problems: string[] = [];
    const open = this.sent.filter((s) => !settled.has(s));
    if (open.length > 0) problems.push(`${open.length} of ${this.sent.length} sends neither acknowledged nor refused after ${timeoutMs} ms`);
    // The SDK refuses only permanently (or when closed); none of the faults injected here justifies that.
    const refused = this.sent.filter((s) => s.error !== undefined);
    for (const s of refused.slice(0, 10)) problems.push(`send ${s.clientId} by ${s.device.name} was refused: ${String(s.error)}`);
    if (refused.length > 10) problems.push(`… ${refused.length - 10} more refused sends`);
    return problems;
  }

  /**
   * Compares one channel's stored history with the record: seqs 1..n without
   * gaps, each acknowledged message exactly once, at the seq and with the text
   * its ack named, nothing stored that the test did not send (its text
   * messages), and each device's messages in the order it sent them.
   */
  checkStored(channelId: string, history: Message[]): string[] {
    const problems: string[] = [];
    const add = (p: string) => {
      if (problems.length < 20) problems.push(`${channelId}: ${p}`);
    };
    history.forEach((m, i) => {
      if (m.seq !== i + 1) add(`position ${i} holds seq ${m.seq} (expected ${i + 1}): the seq order has a gap or repeat`);
    });
    const mine = this.sent.filter((s) => s.channelId === channelId);
    const byClientId = new Map<string, Message[]>();
    for (const m of history) {
      if (m.kind !== 'text') continue;
      const list = byClientId.get(m.clientId) ?? [];
      list.push(m);
      byClientId.set(m.clientId, list);
    }
    const known = new Set(mine.map((s) => s.clientId));
    for (const [clientId, list] of byClientId) {
      if (list.length > 1) add(`client id ${clientId} stored ${list.length} times (seqs ${list.map((m) => m.seq).join(', ')})`);
      if (!known.has(clientId)) add(`seq ${list[0]!.seq} (${clientId}) was stored but never sent by this test`);
    }
    for (const s of mine) {
      if (!s.ack) continue;
      const stored = byClientId.get(s.clientId);
      if (!stored) {
        add(`acknowledged message ${s.clientId} (seq ${s.ack.seq}, "${s.text}") is missing from history`);
        continue;
      }
      const m = stored[0]!;
      if (m.seq !== s.ack.seq) add(`${s.clientId} was acknowledged as seq ${s.ack.seq} but is stored as seq ${m.seq}`);
      if (m.text !== s.text) add(`${s.clientId} is stored with other text: "${m.text}" instead of "${s.text}"`);
    }
    // A device's messages keep the order in which it sent them (the SDK resends in order, newer sends queue behind).
    const devices = new Set(mine.map((s) => s.device));
    for (const device of devices) {
      const order = mine.filter((s) => s.device === device && s.ack).map((s) => s.clientId);
      const ids = new Set(order);
      const storedOrder = history.filter((m) => ids.has(m.clientId)).map((m) => m.clientId);
      const at = order.findIndex((id, i) => storedOrder[i] !== id);
      // A missing message is reported above; here only what is stored ahead of its turn.
      const instead = at >= 0 ? mine.find((s) => s.clientId === storedOrder[at]) : undefined;
      if (instead) {
        const expected = mine.find((s) => s.clientId === order[at])!;
        add(
          `${device.name}'s sends are stored out of order from its send #${at} on: "${instead.text}" (seq ${instead.ack!.seq}) is stored before "${expected.text}" (seq ${expected.ack!.seq}), ` +
            `sent ${instead.sentAt - expected.sentAt} ms after it`,
        );
      }
    }
    return problems;
  }
}

/** Every message of a channel, ascending, read page by page. */
export async function readHistory(api: ConfabApi, channelId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const page = await api.history(channelId, { after, limit: 200 });
    out.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return out;
    after = out.at(-1)!.seq;
  }
}

/**
 * What a device emitted for a channel against the stored history: exactly
 * the messages above where it started, each once, in seq order.
 */
export function checkDelivered(device: Device, channelId: string, history: Message[]): string[] {
  const from = device.from.get(channelId) ?? 0;
  const expected = history.filter((m) => m.seq > from).map((m) => `${m.seq}:${m.clientId}`);
  const got = (device.log.get(channelId) ?? []).map((m) => `${m.seq}:${m.clientId}`);
  const at = expected.findIndex((e, i) => got[i] !== e);
  if (at < 0 && got.length === expected.length) return [];
  const i = at < 0 ? expected.length : at;
  return [
    `${device.name} on ${channelId}: holds ${got.length} messages, history has ${expected.length} above seq ${from}; first difference at #${i}: got ${got[i] ?? 'nothing'}, expected ${expected[i] ?? 'nothing'}`,
  ];
}

/**
 * Waits until the device's client is connected and a sync started after
 * everything was acknowledged has completed (the SDK then has emitted
 * everything committed before it), retrying a failed sync until the deadline.
 */
export async function syncDevice(device: Device, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (device.client.state !== 'open') throw new Error(`${device.name} is ${device.client.state}`);
      await device.client.sync();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${device.name} did not sync within ${timeoutMs} ms: ${String(err)}`);
      await sleep(100);
    }
  }
}

/**
 * The whole check: every send settled, then for each channel the stored
 * history (read through `reader`) against the record, then every device —
 * connected and synced — against the history of each of its channels.
 */
export async function checkInvariant(opts: {
  ledger: Ledger;
  reader: (channelId: string) => ConfabApi;
  devices: { device: Device; channels: string[] }[];
  settleMs?: number;
  syncMs?: number;
}): Promise<{ problems: string[]; histories: Map<string, Message[]> }> {
  const problems = await opts.ledger.settle(opts.settleMs ?? 30_000);
  const histories = new Map<string, Message[]>();
  for (const channelId of new Set([...opts.ledger.channels(), ...opts.devices.flatMap((d) => d.channels)])) {
    const history = await readHistory(opts.reader(channelId), channelId);
    histories.set(channelId, history);
    problems.push(...opts.ledger.checkStored(channelId, history));
  }
  await Promise.all(opts.devices.map(({ device }) => syncDevice(device, opts.syncMs ?? 30_000)));
  for (const { device, channels } of opts.devices) {
    for (const channelId of channels) problems.push(...checkDelivered(device, channelId, histories.get(channelId)!));
  }
  return { problems, histories };
}

/**
 * Steady sends: every `everyMs`, one message from each (device, channel) of
 * the plan, recorded in the ledger. Sends made while a device is offline wait
 * in its SDK outbox, as an app's would.
 */
export function startTraffic(ledger: Ledger, plan: { device: Device; channelId: string }[], opts: { everyMs: number; label: string }): { stop(): void; readonly rounds: number } {
  let rounds = 0;
  const timer = setInterval(() => {
    rounds++;
    for (const { device, channelId } of plan) ledger.send(device, channelId, `${opts.label} ${device.name} #${rounds}`);
  }, opts.everyMs);
  return {
    stop: () => clearInterval(timer),
    get rounds() {
      return rounds;
    },
  };
}
