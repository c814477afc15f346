import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec, RoomPlan, RunningTarget } from '../lib/driver.js';

/*
 * What the baseline targets share: starting a baseline server script in its
 * own process, and a plan's rooms as plain ids (baselines have no accounts
 * and create rooms on demand).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Starts `bench/baselines/<script>` under tsx and resolves once it prints its url line. */
export function startBaselineServer(script: string, opts: { port?: number; nodes?: number }): Promise<RunningTarget> {
  // Rooms live in one process's memory; a second node would not see the first one's members.
  if ((opts.nodes ?? 1) !== 1) return Promise.reject(new Error(`${script} is a single-process baseline (nodes must be 1)`));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))], {
    cwd: root,
    // stdin stays open as a lifeline: the server exits when it ends, so a crashed controller leaves nothing behind.
    env: { ...process.env, PORT: String(opts.port ?? 0), EXIT_ON_STDIN_END: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start:\n${out}`));
    }, 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      if (out.length < 100_000) out += c.toString();
    });
    child.stdout!.on('data', (c: Buffer) => {
      if (out.length < 100_000) out += c.toString();
      const match = /\{"url":"(http:\/\/[^"]+)"\}/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({
        urls: [match[1]!],
        pids: [child.pid!],
        async stop() {
          if (exited) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exit;
          clearTimeout(killer);
          child.stdin!.destroy();
        },
      });
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited:\n${out}`));
    });
  });
}

/** Room i of the plan is `r<i>`; no auth. */
export function roomSpecs(plan: RoomPlan): ClientSpec[] {
  const specs: ClientSpec[] = Array.from({ length: plan.clients }, () => ({ rooms: [] }));
  plan.rooms.forEach((room, index) => {
    for (const m of room.members) specs[m]!.rooms.push({ index, id: `r${index}` });
  });
  return specs;
}
