import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec } from './driver.js';
import type { RunCommand, RunReport } from './load-worker.js';

/*
 * The controller's handle on its load-generator processes: spreads clients
 * over them, and sends each command to all of them and waits for every answer.
 */

/** Connections per load process, well under the ~20,000 open files a process may have here. */
export const MAX_CONNS_PER_WORKER = 8_000;

export class Workers {
  private readonly procs: ChildProcess[];
  /** Which worker holds client i. */
  readonly owner: number[] = [];

  private constructor(procs: ChildProcess[]) {
    this.procs = procs;
  }

  static start(count: number, module = './load-worker.ts'): Workers {
    const file = fileURLToPath(new URL(module, import.meta.url));
    const procs = Array.from({ length: count }, () =>
      fork(file, [], { execArgv: ['--conditions=@confab/source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    return new Workers(procs);
  }

  get count(): number {
    return this.procs.length;
  }

  /** The load processes' pids, to measure their CPU next to the server's. */
  get pids(): number[] {
    return this.procs.map((p) => p.pid!);
  }

  private request<T>(worker: number, message: object, evt: string, timeoutMs = 600_000): Promise<T> {
    const proc = this.procs[worker]!;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load worker ${worker}: no ${evt} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: { evt: string }) => {
        if (m.evt !== evt) return;
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`load worker ${worker} exited (${code})`));
      };
      proc.on('message', onMessage);
      proc.once('exit', onExit);
      proc.send(message);
    });
  }

  /** Connects every client, round-robin over the workers and the server URLs; resolves with totals. */
  async open(driver: string, urls: readonly string[], specs: readonly ClientSpec[], concurrency = 200): Promise<{ ok: number; failed: number; ms: number; errors: string[] }> {
    const shares: { client: number; url: string; spec: ClientSpec }[][] = this.procs.map(() => []);
    specs.forEach((spec, client) => {
      const w = client % this.procs.length;
      this.owner[client] = w;
      shares[w]!.push({ client, url: urls[client % urls.length]!, spec });
    });
    const answers = await Promise.all(
      shares.map((conns, w) => this.request<{ ok: number; failed: number; ms: number; errors: string[] }>(w, { cmd: 'open', driver, conns, concurrency }, 'opened')),
    );
    return {
      ok: answers.reduce((s, a) => s + a.ok, 0),
      failed: answers.reduce((s, a) => s + a.failed, 0),
      ms: Math.max(...answers.map((a) => a.ms)),
      errors: answers.flatMap((a) => a.errors),
    };
  }

  /** One constant-rate run: `senders` (client, room) send `rate` messages per second in total. */
  async run(opts: { senders: { client: number; room: string }[]; rate: number; startUs: number; durationMs: number; warmupMs: number; drainMs: number; textBytes: number }): Promise<RunReport[]> {
    const { startUs } = opts;
    const bySender: { client: number; room: string }[][] = this.procs.map(() => []);
    for (const s of opts.senders) bySender[this.owner[s.client]!]!.push(s);
    const total = opts.senders.length;
    const timeoutMs = opts.durationMs + opts.drainMs + 60_000;
    // Every worker first waits for its own acks; only when all sends are
    // acknowledged do they all wait for the last deliveries (load-worker.ts).
    await Promise.all(
      this.procs.map((_, w) => {
        const senders = bySender[w]!;
        const cmd: RunCommand = {
          cmd: 'run',
          senders,
          rate: total === 0 ? 0 : (opts.rate * senders.length) / total,
          startUs,
          durationMs: opts.durationMs,
          measureFromUs: startUs + opts.warmupMs * 1000,
          drainMs: opts.drainMs,
          textBytes: opts.textBytes,
        };
        return this.request(w, cmd, 'acked', timeoutMs);
      }),
    );
    return Promise.all(this.procs.map((_, w) => this.request<RunReport>(w, { cmd: 'finish' }, 'ran', timeoutMs)));
  }

  async drop(): Promise<void> {
    await Promise.all(this.procs.map((_, w) => this.request(w, { cmd: 'drop' }, 'dropped')));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p, w) => {
        if (p.exitCode !== null) return;
        await this.request(w, { cmd: 'close' }, 'closed', 30_000).catch(() => p.kill('SIGKILL'));
      }),
    );
  }
}
