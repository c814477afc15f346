import { ConfabApi, ConfabClient, type ConfabClientOptions, type Message } from '@confab/sdk';
import WebSocket from 'ws';
import { until } from './wait.js';

export interface SdkUser {
  id: string;
  username: string;
  password: string;
  token: string;
  api: ConfabApi;
}

let n = 0;
export async function sdkUser(baseUrl: string, prefix: string): Promise<SdkUser> {
  const api = new ConfabApi({ baseUrl });
  const username = `${prefix}${Date.now().toString(36)}${(n++).toString(36)}`.slice(0, 32);
  const password = 'correct horse battery';
  await api.signUp({ username, password, displayName: prefix });
  const session = await api.login({ username, password, deviceName: `${prefix} device` });
  api.setToken(session.token);
  return { id: session.user.id, username, password, token: session.token, api };
}

/** Another logged-in device of the same user. */
export async function anotherDevice(baseUrl: string, user: SdkUser, name = 'second'): Promise<string> {
  const api = new ConfabApi({ baseUrl });
  return (await api.login({ username: user.username, password: user.password, deviceName: name })).token;
}

export function client(baseUrl: string, token: string, extra: Partial<ConfabClientOptions> = {}): ConfabClient {
  return new ConfabClient({ baseUrl, token, WebSocket: WebSocket as never, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...extra });
}

/** Records every message a client emits and lets a test wait for a count. */
export function collect(c: ConfabClient) {
  const messages: Message[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  c.on('message', (m) => {
    messages.push(m);
    waiters = waiters.filter((w) => (messages.length >= w.n ? (w.resolve(), false) : true));
  });
  return {
    messages,
    until(count: number, timeoutMs = 10_000): Promise<void> {
      if (messages.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`got ${messages.length} of ${count} messages`)), timeoutMs);
        waiters.push({ n: count, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    of(channelId: string): Message[] {
      return messages.filter((m) => m.channelId === channelId);
    },
  };
}

export function waitFor(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  return until(check, timeoutMs, what);
}
