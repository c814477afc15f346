import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backendEnv } from './backend.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

export interface ServerProcess {
  url: string;
  env: Record<string, string>;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Suites blast hundreds of messages from one device; the send limits have their own tests. */
const NO_SEND_LIMITS = { SEND_MESSAGES_PER_SECOND: '0', SEND_BYTES_PER_SECOND: '0' };

/** Runs the real command-line server (from source) as its own process. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  // A process given a data directory keeps its data in this test backend (see backend.ts).
  if (env.DATA_DIR && !env.DATABASE_URL) env = { ...backendEnv(env.DATA_DIR), ...env };
  const child = spawn(process.execPath, ['--conditions=@confab/source', '--import', 'tsx', 'packages/server/src/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SCRYPT_LOG2_N: '10', ...NO_SEND_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A server that never came up must not outlive the test.
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${out}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then(() => reject(new Error(`server exited early:\n${out}`)));
  });
  return { url, env, child, exited, output: () => out };
}

/** Kills a server process at once (as a crash would) if it still runs, and waits for it to exit. */
export async function killServer(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
