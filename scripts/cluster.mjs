// Starts a local three-node Confab cluster on this machine's PostgreSQL and Redis:
//   npm run build && npm run cluster
// Nodes listen on 127.0.0.1:8081, :8082 and :8083 and share one database and one Redis.
// Ctrl-C drains and stops all of them. Override with DATABASE_URL, REDIS_URL, NODES, BASE_PORT.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const nodes = Number(process.env.NODES ?? 3);
const basePort = Number(process.env.BASE_PORT ?? 8081);
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  DATABASE_SCHEMA: process.env.DATABASE_SCHEMA ?? 'confab',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: process.env.REDIS_KEY_PREFIX ?? 'confab-local:',
  HOST: '127.0.0.1',
};

const children = [];
for (let i = 1; i <= nodes; i++) {
  const port = basePort + i - 1;
  const child = spawn(process.execPath, ['packages/server/dist/main.js'], {
    cwd: root,
    // One data directory for all: it holds only the Web Push key pair here,
    // which every node must share (generating it is safe when nodes race).
    env: { DATA_DIR: './data/cluster', ...env, PORT: String(port), NODE_ID: `node${i}` },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => console.error(`node${i} exited (${signal ?? code})`));
  children.push(child);
  console.error(`node${i}: http://127.0.0.1:${port}`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
  });
}
await Promise.all(children.map((c) => new Promise((resolve) => c.on('exit', resolve))));
