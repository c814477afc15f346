import type { ClientSpec, Conn, Driver, Traffic } from './driver.js';
import { encode, newHistogram, nowUs } from './histogram.js';

/*
 * A load-generator process. The controller (bench/run.ts) forks several, each
 * holding a share of the connections (a process may open only ~20,000 files),
 * and drives them over IPC:
 *
 *   open  → connect the given clients (bounded concurrency), report how many
 *   run   → send at a constant arrival rate from the given senders for a
 *           duration, then wait for this worker's acks (answer `acked`)
 *   finish → once every worker has answered `acked`: keep receiving until
 *           deliveries stop, and report counts and latency histograms
 *   drop  → cut every socket abruptly (as a lost network would)
 *   close → close every socket and exit
 *
 * Latency is measured from each send's *intended* time on the schedule, not
 * from when it was actually written: if the generator (or the server) falls
 * behind, the delay shows up in the numbers instead of silently lowering the
 * offered load (coordinated omission). Every message text starts with its
 * intended time in microseconds and the sending client's index, so any
 * worker can compute end-to-end latency on receipt.
 */

export interface OpenCommand {
  cmd: 'open';
  driver: string;
  conns: { client: number; url: string; spec: ClientSpec }[];
  concurrency: number;
}

export interface RunCommand {
  cmd: 'run';
  senders: { client: number; room: string }[];
  /** Sends per second from this worker (all its senders together). */
  rate: number;
  startUs: number;
  durationMs: number;
  /** Sends intended before this are not measured (warm-up). */
  measureFromUs: number;
  /** After the last send, how long to wait at most for outstanding acks and deliveries in flight. */
  drainMs: number;
  textBytes: number;
}

export interface RunReport {
  evt: 'ran';
  sent: number;
  acked: number;
  refused: number;
  /** Deliveries received by this worker's clients (of anyone's sends), measured ones only. */
  deliveries: number;
  /** Of which to the sender's own connection. */
  echoes: number;
  e2e: string;
  ack: string;
  /** Connections of this worker that closed since it opened them. */
  closed: number;
  /** The most the generator fell behind its schedule, in ms (large values mean the client, not the server, limited the rate). */
  maxLagMs: number;
  /** The worst end-to-end latency (ms) of the sends intended in each 100 ms of the measured window (0: none measured). */
  worstE2eBySlotMs: number[];
  /** Frames and bytes received during the run (warm-up and drain included), by frame type, where the driver counts them. */
  received?: Traffic;
}

type Command = OpenCommand | RunCommand | { cmd: 'finish' } | { cmd: 'drop' } | { cmd: 'close' };

const conns = new Map<number, Conn>();
let loaded: Driver | undefined;
let e2e = newHistogram();
let ackHist = newHistogram();
let deliveries = 0;
let echoes = 0;
let measureFromUs = Number.POSITIVE_INFINITY;
const pendingAcks = new Map<string, number>();
let acked = 0;
let refused = 0;
let closed = 0;
/** When the last delivery (measured or not) arrived, to see them stop. */
let lastDeliveryAt = 0;
/** Resolves the running run's wait for the controller's `finish`. */
let finishRun: () => void = () => undefined;
/** The worst end-to-end latency of the sends intended in each 100 ms of the measured window: shows whether a tail is steady or comes in stalls. */
let worstBySlot: number[] = [];
const SLOT_US = 100_000;
/** Deliveries have stopped once none arrived for this long. */
const QUIET_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function reply(message: object): void {
  process.send!(message);
}

async function open(cmd: OpenCommand): Promise<void> {
  const { driver } = (await import(`./drivers/${cmd.driver}.js`)) as { driver: Driver };
  loaded = driver;
  const started = performance.now();
  let failed = 0;
  let next = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(cmd.concurrency, cmd.conns.length) }, async () => {
      while (next < cmd.conns.length) {
        const { client, url, spec } = cmd.conns[next++]!;
        try {
          const conn = await driver.connect(url, spec, {
            onDeliver(_room, text) {
              lastDeliveryAt = performance.now();
              const space = text.indexOf(' ');
              const intended = Number(text.slice(0, space));
              if (intended < measureFromUs) return;
              deliveries++;
              const sender = Number(text.slice(space + 1, text.indexOf(' ', space + 1)));
              if (sender === client) echoes++;
              else {
                const us = Math.max(1, nowUs() - intended);
                e2e.recordValue(us);
                const slot = Math.floor((intended - measureFromUs) / SLOT_US);
                if (us > (worstBySlot[slot] ?? 0)) worstBySlot[slot] = us;
              }
            },
            onAck(id) {
              const intended = pendingAcks.get(id);
              if (intended === undefined) return;
              pendingAcks.delete(id);
              if (intended >= measureFromUs) {
                acked++;
                ackHist.recordValue(Math.max(1, nowUs() - intended));
              }
            },
            onRefused(id) {
              if (pendingAcks.delete(id)) refused++;
            },
            onClose() {
              closed++;
              conns.delete(client);
            },
          });
          conns.set(client, conn);
        } catch (err) {
          failed++;
          if (errors.length < 3) errors.push(String((err as Error).message ?? err));
        }
      }
    }),
  );
  reply({ evt: 'opened', ok: conns.size, failed, errors, ms: Math.round(performance.now() - started) });
}

async function run(cmd: RunCommand): Promise<void> {
  e2e = newHistogram();
  ackHist = newHistogram();
  worstBySlot = [];
  deliveries = 0;
  echoes = 0;
  acked = 0;
  refused = 0;
  measureFromUs = cmd.measureFromUs;
  const trafficBefore = loaded?.traffic?.();
  const finish = new Promise<void>((resolve) => (finishRun = resolve));
  const pad = 'x'.repeat(Math.max(0, cmd.textBytes - 24));
  const intervalUs = 1e6 / cmd.rate;
  const endUs = cmd.startUs + cmd.durationMs * 1000;
  let measuredSent = 0;
  let maxLagUs = 0;
  let n = 0;

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowUs();
      // Everything whose intended time has come, each stamped with that time.
      while (cmd.senders.length > 0) {
        const intended = Math.round(cmd.startUs + n * intervalUs);
        if (intended > now || intended >= endUs) break;
        const sender = cmd.senders[n % cmd.senders.length]!;
        const conn = conns.get(sender.client);
        n++;
        if (!conn) continue;
        // Unique across runs: Confab treats a reused client id as a retry of the first send.
        const id = `${cmd.startUs.toString(36)}-${sender.client}-${n}`;
        pendingAcks.set(id, intended);
        conn.send(sender.room, id, `${intended} ${sender.client} ${pad}`);
        if (intended >= measureFromUs) measuredSent++;
        maxLagUs = Math.max(maxLagUs, now - intended);
      }
      if (nowUs() >= endUs || cmd.senders.length === 0) return resolve();
      setTimeout(tick, 1);
    };
    const wait = (cmd.startUs - nowUs()) / 1000;
    setTimeout(tick, Math.max(0, wait));
  });
  // Drain, in two steps the controller joins. First until every send of this
  // worker is acknowledged (a Confab ack follows the fan-out of its message).
  const drainUntil = performance.now() + cmd.drainMs;
  while (pendingAcks.size > 0 && performance.now() < drainUntil) await sleep(20);
  reply({ evt: 'acked' });
  // Then, once every worker's sends are acknowledged, until deliveries stop
  // arriving: at saturation fan-outs run behind their acks, and a report made
  // while deliveries are still in flight would count them as lost.
  await finish;
  const quietUntil = Math.max(drainUntil, performance.now() + QUIET_MS);
  while (performance.now() - lastDeliveryAt < QUIET_MS && performance.now() < quietUntil) await sleep(20);
  const report: RunReport = {
    evt: 'ran',
    sent: measuredSent,
    acked,
    refused,
    deliveries,
    echoes,
    e2e: encode(e2e),
    ack: encode(ackHist),
    maxLagMs: Math.round(maxLagUs / 1000),
    closed,
    worstE2eBySlotMs: Array.from({ length: Math.ceil((endUs - cmd.measureFromUs) / SLOT_US) }, (_, i) => Math.round((worstBySlot[i] ?? 0) / 1000)),
    ...(trafficBefore && { received: difference(loaded!.traffic!(), trafficBefore) }),
  };
  pendingAcks.clear();
  measureFromUs = Number.POSITIVE_INFINITY;
  reply(report);
}

function difference(after: Traffic, before: Traffic): Traffic {
  const out: Traffic = {};
  for (const [type, t] of Object.entries(after)) out[type] = { frames: t.frames - (before[type]?.frames ?? 0), bytes: t.bytes - (before[type]?.bytes ?? 0) };
  return out;
}

process.on('message', (cmd: Command) => {
  switch (cmd.cmd) {
    case 'open':
      void open(cmd);
      return;
    case 'run':
      void run(cmd);
      return;
    case 'finish':
      finishRun();
      return;
    case 'drop':
      for (const c of conns.values()) c.drop();
      reply({ evt: 'dropped', closed });
      return;
    case 'close':
      void Promise.all([...conns.values()].map((c) => c.close())).finally(() => {
        reply({ evt: 'closed' });
        process.exit(0);
      });
      return;
  }
});

// The controller going away ends the worker: a benchmark never leaves load behind.
process.on('disconnect', () => process.exit(0));
