import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/*
 * The machine's floor (floor.c): small writes to many loopback sockets per
 * CPU-second, the most one core can fan out with nothing above the kernel.
 * Compiled with gcc once per process into a temp dir that is removed on exit.
 */

const run = promisify(execFile);
const source = fileURLToPath(new URL('floor.c', import.meta.url));

export interface FloorResult {
  connections: number;
  /** What was asked for; `connections` is capped by the fd limit. */
  requestedConnections: number;
  messageBytes: number;
  batch: number;
  writes: number;
  messages: number;
  cpuSeconds: number;
  writesPerCpuSecond: number;
  messagesPerCpuSecond: number;
  wallSeconds: number;
}

let binary: Promise<string> | undefined;

function compile(): Promise<string> {
  binary ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confab-bench-floor-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'floor');
    await run('gcc', ['-O2', '-Wall', '-o', out, source]);
    return out;
  })();
  return binary;
}

export async function runFloor(opts: { connections: number; messageBytes: number; seconds: number; batch?: number }): Promise<FloorResult> {
  const args = [String(opts.connections), String(opts.messageBytes), String(opts.seconds)];
  if (opts.batch !== undefined) args.push('--batch', String(opts.batch));
  const { stdout } = await run(await compile(), args, { timeout: (opts.seconds + 120) * 1000 });
  return JSON.parse(stdout.trim()) as FloorResult;
}

// `node --import tsx bench/baselines/floor.ts <connections> <message_bytes> <seconds> [batch]`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [connections = '1000', messageBytes = '100', seconds = '3', batch] = process.argv.slice(2);
  const result = await runFloor({
    connections: Number(connections),
    messageBytes: Number(messageBytes),
    seconds: Number(seconds),
    ...(batch !== undefined && { batch: Number(batch) }),
  });
  console.log(JSON.stringify(result));
}
