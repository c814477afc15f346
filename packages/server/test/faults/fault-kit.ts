import { execFileSync } from 'node:child_process';
import { ConfabApi, ConfabClient, type ConfabClientOptions } from '@confab/sdk';
import WebSocket from 'ws';
import { Device } from '../support/delivery-ledger.js';
import { login } from '../support/http.js';
import { postgresRunnable } from '../support/postgres-server.js';

/*
 * Shared pieces of the fault-injection suites: SDK devices with a short
 * reconnect backoff (faults last seconds; the SDK's default would stretch the
 * suite), and the decision whether the private services can run here.
 */

export function faultClient(baseUrl: string, token: string, extra: Partial<ConfabClientOptions> = {}): ConfabClient {
  return new ConfabClient({ baseUrl, token, WebSocket: WebSocket as never, reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 }, ...extra });
}

/** A Device for this token, connected, with its starting point noted. */
export async function openDevice(baseUrl: string, name: string, userId: string, token: string, extra: Partial<ConfabClientOptions> = {}): Promise<Device> {
  const device = new Device(name, userId, token, faultClient(baseUrl, token, extra));
  await device.client.connect();
  device.noteStart();
  return device;
}

/** A second (third, …) logged-in device of a user: its token. */
export async function anotherToken(baseUrl: string, user: { username: string; password: string }, name: string): Promise<string> {
  return (await login(baseUrl, user.username, user.password, name)).token;
}

export function api(baseUrl: string, token: string): ConfabApi {
  return new ConfabApi({ baseUrl, token });
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the private PostgreSQL and redis-server these suites start can run.
 * Under CI (CI=true) a missing one is a failure: the suite runs and its setup
 * fails loudly. Elsewhere the suite is skipped with a line saying why.
 */
export function servicesRunnable(suite: string): boolean {
  const missing: string[] = [];
  const pgCheck = postgresRunnable();
  if (!pgCheck.ok) missing.push(`PostgreSQL: ${pgCheck.reason}`);
  if (!hasCommand('redis-server')) missing.push('redis-server is not on PATH');
  if (missing.length === 0) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`SKIPPED: ${suite} did not run: ${missing.join('; ')} (set CI=true to make this a failure).`);
  return false;
}
