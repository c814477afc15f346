import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from './config-docs.js';
import { ConfigError, loadConfig } from './config.js';

describe('config', () => {
  it('docs/configuration.md is generated from the schema and up to date', () => {
    const onDisk = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderConfigDocs());
  });

  it('uses documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '0.0.0.0', port: 8080, dataDir: './data', maxGroupMembers: 100, presenceTimeoutMs: 30_000 });
  });

  it('refuses inconsistent timing', () => {
    expect(() => loadConfig({ HEARTBEAT_MS: '5000', PRESENCE_TIMEOUT_MS: '4000' })).toThrow(ConfigError);
  });
});
