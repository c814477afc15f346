import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Live heap of a server process, counted from V8 heap snapshots. A snapshot
 * runs a full garbage collection first, so unlike heap-used gauges or the
 * resident set it counts only what is reachable: the exact cost of what the
 * process holds. The server must run with the node flags `nodeArgs` gives
 * (a signal that writes a snapshot into a private directory).
 */

export class HeapSnapshots {
  readonly dir = mkdtempSync(join(tmpdir(), 'confab-heap-'));

  get nodeArgs(): string {
    return `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${this.dir}`;
  }

  /** Asks the process for a snapshot and returns the total size of every object in it, in bytes. */
  async liveBytes(pid: number, timeoutMs = 120_000): Promise<number> {
    process.kill(pid, 'SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Each snapshot is removed once read, so the one in the directory is the one asked for.
      const file = readdirSync(this.dir).find((f) => f.endsWith('.heapsnapshot'));
      // The file is complete once it ends with the JSON's closing brace and its size holds still.
      if (file) {
        const path = join(this.dir, file);
        const size = statSync(path).size;
        await new Promise((r) => setTimeout(r, 500));
        if (size > 0 && statSync(path).size === size) {
          const text = readFileSync(path, 'utf8');
          if (text.trimEnd().endsWith('}')) {
            rmSync(path);
            return selfSizeTotal(text);
          }
        }
      }
      if (Date.now() > deadline) throw new Error('no heap snapshot written');
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function selfSizeTotal(text: string): number {
  const snapshot = JSON.parse(text) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const stride = fields.length;
  const at = fields.indexOf('self_size');
  let total = 0;
  for (let i = at; i < snapshot.nodes.length; i += stride) total += snapshot.nodes[i]!;
  return total;
}
