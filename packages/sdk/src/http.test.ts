import { describe, expect, it } from 'vitest';
import { ConfabError } from './errors.js';
import { ConfabApi, type FetchInitLike, type FetchLike } from './http.js';

interface Call {
  url: string;
  init: FetchInitLike;
}

function fakeFetch(respond: (call: Call) => { status: number; body?: unknown } | Promise<never>) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call = { url, init };
    calls.push(call);
    const r = await respond(call);
    return { status: r.status, text: async () => (r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)) };
  };
  return { fetch, calls };
}

const user = { id: 'u_1', username: 'ada', displayName: 'Ada', createdAt: 1 };

describe('ConfabApi', () => {
  it('logs in without auth, keeps the token, and sends it as a bearer token afterwards', async () => {
    const { fetch, calls } = fakeFetch(({ url }) =>
      url.endsWith('/v1/sessions') ? { status: 201, body: { token: 'tok', user, device: {} } } : { status: 200, body: { user } },
    );
    const api = new ConfabApi({ baseUrl: 'https://chat.example.com/prefix/', fetch });
    const session = await api.login({ username: 'ada', password: 'secret-pw' });
    expect(session.token).toBe('tok');
    expect(await api.me()).toEqual(user);
    expect(calls[0]!.url).toBe('https://chat.example.com/prefix/v1/sessions');
    expect(calls[0]!.init.method).toBe('POST');
    expect(calls[0]!.init.headers.authorization).toBeUndefined();
    expect(JSON.parse(calls[0]!.init.body!)).toEqual({ username: 'ada', password: 'secret-pw' });
    expect(calls[1]!.url).toBe('https://chat.example.com/prefix/v1/me');
    expect(calls[1]!.init.headers.authorization).toBe('Bearer tok');
  });

  it('builds paths and query strings with encoding, omitting absent parameters', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 200, body: { messages: [], hasMore: false } }));
    const api = new ConfabApi({ baseUrl: 'http://h', token: 't', fetch });
    await api.history('c/1', { after: 5, limit: 200 });
    await api.history('c1');
    await api.searchUsers('a b');
    await api.sync({ cursor: 'x=y' });
    expect(calls.map((c) => c.url)).toEqual([
      'http://h/v1/channels/c%2F1/messages?after=5&limit=200',
      'http://h/v1/channels/c1/messages',
      'http://h/v1/users?prefix=a%20b',
      'http://h/v1/sync?cursor=x%3Dy',
    ]);
  });

  it('unwraps envelopes and maps 204 to undefined / null', async () => {
    const { fetch, calls } = fakeFetch(({ init }) => (init.method === 'DELETE' ? { status: 204 } : { status: 200, body: { channels: [{ id: 'c1' }] } }));
    const api = new ConfabApi({ baseUrl: 'http://h', token: 't', fetch });
    expect(await api.channels()).toEqual([{ id: 'c1' }]);
    expect(await api.removeMember('c1', 'u_me')).toBeNull();
    await expect(api.revokeDevice('d_1')).resolves.toBeUndefined();
    expect(calls.at(-1)!.url).toBe('http://h/v1/devices/d_1');
  });

  it('throws ConfabError with the server code, status and retryable flag', async () => {
    const { fetch } = fakeFetch(() => ({ status: 429, body: { code: 'rate_limited', message: 'slow down', retryable: true } }));
    const api = new ConfabApi({ baseUrl: 'http://h', token: 't', fetch });
    const err = await api.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfabError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, message: 'slow down' });
  });

  it('derives a code from the status when the body is not an ErrorBody', async () => {
    const { fetch } = fakeFetch(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    const api = new ConfabApi({ baseUrl: 'http://h', fetch });
    await expect(api.me()).rejects.toMatchObject({ code: 'unavailable', status: 502, retryable: true });
  });

  it('turns a network failure into a retryable network_error', async () => {
    const { fetch } = fakeFetch(() => Promise.reject(new TypeError('fetch failed')));
    const api = new ConfabApi({ baseUrl: 'http://h', fetch });
    await expect(api.channels()).rejects.toMatchObject({ code: 'network_error', status: 0, retryable: true });
  });

  it('checks message text and client id locally before sending over HTTP', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 201, body: { channelId: 'c1', seq: 1, createdAt: 1, duplicate: false } }));
    const api = new ConfabApi({ baseUrl: 'http://h', token: 't', fetch, clientId: () => 'generated' });
    await expect(api.sendViaHttp('c1', '')).rejects.toMatchObject({ code: 'message_empty' });
    await expect(api.sendViaHttp('c1', 'a\u0000b')).rejects.toMatchObject({ code: 'invalid_text' });
    await expect(api.sendViaHttp('c1', 'hi', 'has space')).rejects.toMatchObject({ code: 'bad_request' });
    expect(calls).toHaveLength(0);
    await api.sendViaHttp('c1', 'hi');
    expect(JSON.parse(calls[0]!.init.body!)).toEqual({ clientId: 'generated', text: 'hi' });
  });

  it('aborts a request that does not answer in time', async () => {
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const api = new ConfabApi({ baseUrl: 'http://h', fetch, timeoutMs: 20 });
    await expect(api.me()).rejects.toMatchObject({ code: 'network_error', message: expect.stringMatching(/timed out/) });
  });
});

describe('ConfabApi accounts safety', () => {
  it('changes the password and manages blocks on their routes', async () => {
    const blocked = { user, blockedAt: 5 };
    const { fetch, calls } = fakeFetch(({ init }) => (init.method === 'GET' ? { status: 200, body: { blocks: [blocked] } } : { status: 204 }));
    const api = new ConfabApi({ baseUrl: 'http://h', token: 't', fetch });
    await api.changePassword('old password', 'new password');
    await api.block('u/2');
    await api.unblock('u_2');
    expect(await api.blocks()).toEqual([blocked]);
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'PUT http://h/v1/me/password',
      'PUT http://h/v1/blocks/u%2F2',
      'DELETE http://h/v1/blocks/u_2',
      'GET http://h/v1/blocks',
    ]);
    expect(JSON.parse(calls[0]!.init.body!)).toEqual({ currentPassword: 'old password', newPassword: 'new password' });
  });

  it('carries retryAfterMs from a rate_limited refusal, as retryable', async () => {
    const { fetch } = fakeFetch(() => ({ status: 429, body: { code: 'rate_limited', message: 'slow down', retryable: true, retryAfterMs: 20_000 } }));
    const api = new ConfabApi({ baseUrl: 'http://h', fetch });
    const err = await api.login({ username: 'ada', password: 'guess-guess' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfabError);
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, retryAfterMs: 20_000 });
    const bare = await new ConfabApi({ baseUrl: 'http://h', fetch: fakeFetch(() => ({ status: 429, body: 'Too Many Requests' })).fetch }).me().catch((e: unknown) => e);
    expect(bare).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: undefined });
  });
});
