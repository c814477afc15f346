import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * Keeps the benchmark harness working: every scenario and every target runs
 * in its --quick form (seconds, tiny sizes) through the real command line,
 * and the report must be complete and lossless. Nothing here looks at how
 * fast anything was: benchmarks are not tests (see docs/benchmarks.md).
 */

const root = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

async function bench(...args: string[]): Promise<Record<string, any>> {
  const { stdout } = await run(process.execPath, ['--conditions=@confab/source', '--import', 'tsx', 'bench/run.ts', ...args, '--quick'], {
    cwd: root,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

describe('benchmark harness (smoke)', () => {
  for (const target of ['confab', 'ws-relay', 'socketio']) {
    it(`direct: drives ${target} at a constant rate and loses nothing`, async () => {
      const report = await bench('direct', '--target', target);
      expect(report).toMatchObject({ scenario: 'direct', params: { target }, machine: { cores: expect.any(Number), node: process.version } });
      const [rate] = report.runs[0].rates;
      expect(rate.sent).toBeGreaterThan(0);
      expect(rate.acked).toBe(rate.sent);
      expect(rate).toMatchObject({ refused: 0, lost: 0, deliveries: rate.expectedDeliveries });
      expect(rate.e2e.count).toBe(rate.sent);
      expect(rate.serverCpuSeconds).toBeGreaterThan(0);
      // The load processes sent and received everything, so they used CPU too.
      expect(rate.loadCpuSeconds).toBeGreaterThan(0);
      // One worst latency per 100 ms of the measured window (1.5 s in --quick).
      expect(rate.worstE2eBySlotMs).toHaveLength(15);
      expect(Math.max(...rate.worstE2eBySlotMs)).toBeGreaterThan(0);
      if (target === 'confab') {
        // Counted over the whole run, warm-up included: at least every measured delivery and ack.
        expect(rate.received.message.frames).toBeGreaterThanOrEqual(rate.deliveries);
        expect(rate.received.ack.frames).toBeGreaterThanOrEqual(rate.acked);
        expect(rate.received.message.bytes).toBeGreaterThan(rate.received.message.frames * 100);
      }
    }, 120_000);
  }

  it('a controller that dies leaves no Confab server running', async () => {
    // A controller killed outright (no handler runs) must not leave its server behind.
    const controller = spawn(
      process.execPath,
      [
        '--conditions=@confab/source',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "import { target } from './bench/lib/drivers/confab.ts'; const r = await target.start({}); console.log(JSON.stringify(r.pids)); setInterval(() => {}, 1000);",
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      controller.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
      });
      controller.on('exit', () => reject(new Error(`controller exited early: ${out}`)));
    });
    // A server that exited after its parent died may stay a zombie until init reaps it: that is not running.
    const running = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(pids.length).toBe(1);
    expect(running(pids[0]!)).toBe(true);
    controller.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (running(pids[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(running(pids[0]!)).toBe(false);
  }, 60_000);

  it('direct on Bun: the same server core on Bun\'s transport and bun:sqlite loses nothing', async () => {
    // Bun comes from the devDependencies, so this runs wherever `npm ci` did.
    const report = await bench('direct', '--runtime', 'bun');
    expect(report.params).toMatchObject({ target: 'confab', runtime: 'bun' });
    const [rate] = report.runs[0].rates;
    expect(rate.sent).toBeGreaterThan(0);
    expect(rate).toMatchObject({ acked: rate.sent, refused: 0, lost: 0, deliveries: rate.expectedDeliveries });
  }, 120_000);

  it('groups: every member gets every message', async () => {
    const [rate] = (await bench('groups')).runs[0].rates;
    expect(rate.sent).toBeGreaterThan(0);
    expect(rate).toMatchObject({ lost: 0, refused: 0, deliveries: rate.sent * 10 });
  }, 120_000);

  it('idle: reports memory and CPU for every connection opened', async () => {
    const [result] = (await bench('idle')).runs;
    expect(result.connections).toBe(100);
    expect(typeof result.userBytesPerConnection).toBe('number');
    expect(result.liveHeapBytesPerConnection).toBeGreaterThan(0);
    expect(typeof result.cpuPercentAtRest).toBe('number');
  }, 120_000);

  it('history: pages of 50 from a long and a short channel', async () => {
    const [result] = (await bench('history')).runs;
    expect(result.long.count).toBe(200);
    expect(result.short.count).toBe(200);
  }, 120_000);

  it('reconnect: every client gets every missed message', async () => {
    const [result] = (await bench('reconnect')).runs;
    expect(result).toMatchObject({ clients: 50, converged: 50, missing: 0 });
  }, 120_000);

  it('floor: the C program compiles and reports writes per CPU-second', async () => {
    const [result] = (await bench('floor')).runs;
    expect(result.plain.writes).toBeGreaterThan(0);
    expect(result.batched.messages).toBe(result.batched.writes * 8);
  }, 120_000);
});
