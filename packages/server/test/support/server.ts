import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createServer, type ConfabServer, type Overrides } from '../../src/server.js';
import { backendConfig, dropBackend } from './backend.js';

export interface TestServer {
  url: string;
  server: ConfabServer;
  dataDir: string;
  stop(): Promise<void>;
}

/** Test defaults: a free port on loopback, a fresh data dir, cheap password hashing, quiet logs. */
export function testConfig(over: Partial<Config> = {}, dataDir = mkdtempSync(join(tmpdir(), 'confab-test-'))): Config {
  return loadConfig({}, {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logLevel: 'silent',
    scryptCost: 10,
    sqliteSynchronous: 'normal',
    receiptFlushMs: 20,
    shutdownGraceMs: 200,
    // Suites blast hundreds of messages from one device; the send limits have their own tests.
    sendMessagesPerSecond: 0,
    sendBytesPerSecond: 0,
    ...backendConfig(dataDir),
    ...over,
  });
}

export async function startServer(over: Partial<Config> = {}, overrides: Overrides = {}, opts: { keepData?: boolean; dataDir?: string } = {}): Promise<TestServer> {
  const config = testConfig(over, opts.dataDir);
  const server = await createServer(config, overrides);
  const { url } = await server.start();
  return {
    url,
    server,
    dataDir: config.dataDir,
    async stop() {
      await server.stop();
      if (!opts.keepData) {
        rmSync(config.dataDir, { recursive: true, force: true });
        await dropBackend(config.dataDir);
      }
    },
  };
}
