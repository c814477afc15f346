import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
let bare: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'confab-webdir-'));

beforeAll(async () => {
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Confab</title>');
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'void 0;');
  writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  srv = await startServer({ webDir: dir });
  bare = await startServer({ webDir: join(dir, 'missing') });
});
afterAll(async () => {
  await Promise.all([srv.stop(), bare.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('serving the web client', () => {
  it('serves the app shell at / with a strict CSP and revalidation', async () => {
    const res = await fetch(`${srv.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Confab</title>');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('caches hashed assets forever and the service worker never', async () => {
    expect((await fetch(`${srv.url}/assets/app-abc123.js`)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${srv.url}/sw.js`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('keeps API errors as JSON next to static files', async () => {
    const res = await fetch(`${srv.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });

  it('says how to build the client when it is missing', async () => {
    const res = await fetch(`${bare.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build');
  });
});
