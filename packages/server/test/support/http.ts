import type { SessionResponse } from '@confab/protocol';

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

/** A plain HTTP call, for tests that check raw status codes and error bodies. */
export async function http<T = any>(url: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url + path, { method, headers, ...(body !== undefined && { body }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let counter = 0;
/** Signs up a fresh user and logs in one device. */
export async function newUser(url: string, prefix = 'user', deviceName = 'test device'): Promise<SessionResponse & { username: string; password: string }> {
  const username = `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`.toLowerCase().slice(0, 32);
  const password = 'correct horse battery';
  const signUp = await http(url, 'POST', '/v1/accounts', { body: { username, password, displayName: prefix } });
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(signUp.body)}`);
  const session = await login(url, username, password, deviceName);
  return { ...session, username, password };
}

export async function login(url: string, username: string, password: string, deviceName = 'another device'): Promise<SessionResponse> {
  const res = await http<SessionResponse>(url, 'POST', '/v1/sessions', { body: { username, password, deviceName } });
  if (res.status !== 201) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return res.body;
}
