import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const script = `${root}packages/server/test/e2e/.readme-example.ts`;

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  rmSync(script, { force: true });
  await srv.stop();
});

describe('README', () => {
  it('the SDK example runs as written against a real server', async () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## Chatting from code with the SDK'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    writeFileSync(script, code!.replace("'http://localhost:8080'", JSON.stringify(srv.url)));
    const child = spawn(process.execPath, ['--conditions=@confab/source', '--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`example did not finish:\n${out}`)), 20_000);
        const check = setInterval(() => {
          if (out.includes('bob got #1: Hi Bob!') && out.includes('stored as seq 1') && /ticks .*readSeq: 1/s.test(out)) {
            clearInterval(check);
            clearTimeout(timer);
            resolve();
          }
        }, 20);
        child.on('exit', () => reject(new Error(`example exited:\n${out}`)));
      });
    } finally {
      child.kill();
    }
  });
});
