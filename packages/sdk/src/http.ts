import {
  checkMessageText,
  isErrorCode,
  type BlockedUser,
  type BlocksResponse,
  type ChannelDetail,
  type ChannelResponse,
  type ChannelsResponse,
  type ConnectResponse,
  type ChannelSummary,
  type Device,
  type DevicesResponse,
  type ErrorCode,
  type HistoryQuery,
  type HistoryResponse,
  type LoginBody,
  type MuteResponse,
  type PushConfigResponse,
  type PushRegistrationBody,
  type PushRegistrationResponse,
  type Presence,
  type PresenceResponse,
  type SendResponse,
  type SessionResponse,
  type SignUpBody,
  type SyncQuery,
  type SyncResponse,
  type User,
  type UserResponse,
  type UsersResponse,
} from '@confab/protocol';
import { ConfabError } from './errors.js';
import { defaultClientId, isValidClientId } from './ids.js';

/** The part of a fetch Response the SDK reads. */
export interface FetchResponseLike {
  readonly status: number;
  text(): Promise<string>;
}

export interface FetchInitLike {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** Any standard fetch (browser, Node 20, React Native) fits this. */
export type FetchLike = (url: string, init: FetchInitLike) => Promise<FetchResponseLike>;

export interface ConfabApiOptions {
  /** e.g. `https://chat.example.com` (a path prefix is kept). */
  baseUrl: string;
  token?: string | null;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /** Abort a request that has not answered after this long (default 30 s). */
  timeoutMs?: number;
  /** Generates client ids for `sendViaHttp` when none is given. */
  clientId?: () => string;
}

type Query = Record<string, string | number | undefined>;

interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** false for the two routes that create a session; true by default. */
  auth?: boolean;
}

/** Strips trailing slashes so `baseUrl + '/v1/...'` never doubles them. */
export function normalizeBaseUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

const enc = encodeURIComponent;

/**
 * A typed client for the Confab HTTP API. Every failure throws ConfabError:
 * protocol refusals carry the server's code; unreachable servers and timeouts
 * become `network_error` (retryable). Single-field envelopes (`{user}`,
 * `{channels}`, …) are unwrapped.
 */
export class ConfabApi {
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer` on authenticated routes. */
  token: string | null;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly newClientId: () => string;

  constructor(opts: ConfabApiOptions) {
    this.baseUrl = normalizeBaseUrl(opts.baseUrl);
    this.token = opts.token ?? null;
    // Looked up per call and called unbound-safe: browsers throw "Illegal invocation" for a detached fetch.
    this.fetchFn = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.newClientId = opts.clientId ?? defaultClientId;
  }

  setToken(token: string | null): void {
    this.token = token;
  }

  // --- accounts and sessions ------------------------------------------------

  async signUp(body: SignUpBody): Promise<User> {
    return (await this.request<UserResponse>('POST', '/v1/accounts', { body, auth: false })).user;
  }

  /** Logs in and keeps the returned token for later calls. */
  async login(body: LoginBody): Promise<SessionResponse> {
    const session = await this.request<SessionResponse>('POST', '/v1/sessions', { body, auth: false });
    this.token = session.token;
    return session;
  }

  /** Logs out this device (its token stops working everywhere) and forgets the token. */
  async logout(): Promise<void> {
    await this.request<void>('DELETE', '/v1/sessions/current');
    this.token = null;
  }

  async me(): Promise<User> {
    return (await this.request<UserResponse>('GET', '/v1/me')).user;
  }

  async updateProfile(body: { displayName: string }): Promise<User> {
    return (await this.request<UserResponse>('PATCH', '/v1/me', { body })).user;
  }

  /**
   * Changes this account's password. Every other device of the account is
   * logged out; this one stays. A wrong current password is
   * `invalid_credentials` (and counts as a failed login).
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.request<void>('PUT', '/v1/me/password', { body: { currentPassword, newPassword } });
  }

  async devices(): Promise<Device[]> {
    return (await this.request<DevicesResponse>('GET', '/v1/devices')).devices;
  }

  async revokeDevice(deviceId: string): Promise<void> {
    await this.request<void>('DELETE', `/v1/devices/${enc(deviceId)}`);
  }

  // --- push notifications -----------------------------------------------------

  /** Which push services the server sends through, and the VAPID key for Web Push. */
  pushConfig(): Promise<PushConfigResponse> {
    return this.request<PushConfigResponse>('GET', '/v1/push/config');
  }

  /** Where this device's pushes go (replaces any earlier registration of this device). */
  async registerPush(registration: PushRegistrationBody): Promise<void> {
    await this.request<void>('PUT', '/v1/devices/current/push', { body: registration });
  }

  async pushRegistration(): Promise<PushRegistrationBody | null> {
    return (await this.request<PushRegistrationResponse>('GET', '/v1/devices/current/push')).registration;
  }

  /** Stops pushes to this device. */
  async unregisterPush(): Promise<void> {
    await this.request<void>('DELETE', '/v1/devices/current/push');
  }

  /** Mutes a channel's notifications for all your devices until `mutedUntil` (ms epoch; `MUTED_FOREVER`), or unmutes with null. */
  async muteChannel(channelId: string, mutedUntil: number | null): Promise<MuteResponse> {
    return this.request<MuteResponse>('PUT', `/v1/channels/${enc(channelId)}/mute`, { body: { mutedUntil } });
  }

  // --- users ------------------------------------------------------------------

  async searchUsers(prefix: string, limit?: number): Promise<User[]> {
    return (await this.request<UsersResponse>('GET', '/v1/users', { query: { prefix, limit } })).users;
  }

  async getUser(userId: string): Promise<User> {
    return (await this.request<UserResponse>('GET', `/v1/users/${enc(userId)}`)).user;
  }

  // --- blocks -------------------------------------------------------------------

  /** The users I blocked, newest first. */
  async blocks(): Promise<BlockedUser[]> {
    return (await this.request<BlocksResponse>('GET', '/v1/blocks')).blocks;
  }

  /** Blocks a user: no direct messages either way, no presence between us. Blocking twice is fine. */
  async block(userId: string): Promise<void> {
    await this.request<void>('PUT', `/v1/blocks/${enc(userId)}`);
  }

  async unblock(userId: string): Promise<void> {
    await this.request<void>('DELETE', `/v1/blocks/${enc(userId)}`);
  }

  // --- channels ---------------------------------------------------------------

  /** Opens (or returns the existing) direct channel with a user. */
  async openDirect(userId: string): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('POST', '/v1/channels/direct', { body: { userId } })).channel;
  }

  async createGroup(name: string, memberIds: string[]): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('POST', '/v1/channels', { body: { name, memberIds } })).channel;
  }

  async channels(): Promise<ChannelSummary[]> {
    return (await this.request<ChannelsResponse>('GET', '/v1/channels')).channels;
  }

  async channel(channelId: string): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('GET', `/v1/channels/${enc(channelId)}`)).channel;
  }

  async renameChannel(channelId: string, name: string): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('PATCH', `/v1/channels/${enc(channelId)}`, { body: { name } })).channel;
  }

  async addMembers(channelId: string, userIds: string[]): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('POST', `/v1/channels/${enc(channelId)}/members`, { body: { userIds } })).channel;
  }

  /** Removes a member. Resolves null when you removed yourself (you can no longer see the channel). */
  async removeMember(channelId: string, userId: string): Promise<ChannelDetail | null> {
    const res = await this.request<ChannelResponse | undefined>('DELETE', `/v1/channels/${enc(channelId)}/members/${enc(userId)}`);
    return res?.channel ?? null;
  }

  async setRole(channelId: string, userId: string, role: 'admin' | 'member'): Promise<ChannelDetail> {
    return (await this.request<ChannelResponse>('PATCH', `/v1/channels/${enc(channelId)}/members/${enc(userId)}`, { body: { role } })).channel;
  }

  async leave(channelId: string): Promise<void> {
    await this.request<void>('POST', `/v1/channels/${enc(channelId)}/leave`);
  }

  // --- messages and sync --------------------------------------------------------

  /** Messages ascending by seq. `before` pages backwards from the newest; `after` forwards. */
  history(channelId: string, query: HistoryQuery = {}): Promise<HistoryResponse> {
    return this.request<HistoryResponse>('GET', `/v1/channels/${enc(channelId)}/messages`, {
      query: { before: query.before, after: query.after, limit: query.limit },
    });
  }

  /**
   * Sends without a socket. Idempotent per client id: retry with the same id
   * after a failure and the server returns the original ack (`duplicate: true`).
   */
  async sendViaHttp(channelId: string, text: string, clientId: string = this.newClientId()): Promise<SendResponse> {
    const refusal = checkMessageText(text);
    if (refusal) throw new ConfabError(refusal);
    if (!isValidClientId(clientId)) throw new ConfabError('bad_request', 'A client id is 1–64 printable ASCII characters.');
    return this.request<SendResponse>('POST', `/v1/channels/${enc(channelId)}/messages`, { body: { clientId, text } });
  }

  /** One page of channel changes after `cursor`; without a cursor, an empty page with the head cursor. */
  sync(query: SyncQuery = {}): Promise<SyncResponse> {
    return this.request<SyncResponse>('GET', '/v1/sync', { query: { cursor: query.cursor, limit: query.limit } });
  }

  /** The chat node this client should open its WebSocket to. */
  connectTarget(): Promise<ConnectResponse> {
    return this.request<ConnectResponse>('GET', '/v1/connect');
  }

  async presence(userIds: string[]): Promise<Presence[]> {
    return (await this.request<PresenceResponse>('POST', '/v1/presence/query', { body: { userIds } })).presence;
  }

  // --- transport ------------------------------------------------------------------

  /** Performs one request; exposed for routes this class does not wrap yet. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    const init: FetchInitLike = { method, headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    const url = this.baseUrl + path + queryString(opts.query);

    // AbortController exists in browsers, Node and React Native, but stays optional for odd runtimes.
    const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
    if (controller) init.signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller?.abort();
    }, this.timeoutMs);

    let status: number;
    let text: string;
    try {
      const res = await this.fetchFn(url, init);
      status = res.status;
      text = await res.text();
    } catch (err) {
      const message = timedOut ? `${method} ${path} timed out after ${this.timeoutMs} ms` : `${method} ${path} failed: ${describe(err)}`;
      throw new ConfabError('network_error', message, { cause: err });
    } finally {
      clearTimeout(timer);
    }

    if (status >= 200 && status < 300) {
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        throw new ConfabError('internal', `${method} ${path}: the response is not JSON`, { status, cause: err });
      }
    }
    throw errorFromResponse(status, text);
  }
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) if (v !== undefined) parts.push(`${enc(k)}=${enc(String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Uses the ErrorBody when there is one; a proxy's bare error page still gets a sensible code. */
function errorFromResponse(status: number, text: string): ConfabError {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; retryable?: unknown; retryAfterMs?: unknown };
    if (isErrorCode(body.code)) {
      return new ConfabError(body.code, typeof body.message === 'string' ? body.message : undefined, {
        status,
        ...(typeof body.retryable === 'boolean' && { retryable: body.retryable }),
        ...(typeof body.retryAfterMs === 'number' && Number.isFinite(body.retryAfterMs) && body.retryAfterMs >= 0 && { retryAfterMs: body.retryAfterMs }),
      });
    }
  } catch {
    // not JSON: fall through
  }
  return new ConfabError(codeForStatus(status), `HTTP ${status}`, { status });
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'frame_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'bad_request';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
