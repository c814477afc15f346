export { ConfabClient, type ClientEvents, type ConfabClientOptions, type ConnectionState, type SendOptions } from './client.js';
export { ConfabApi, type ConfabApiOptions, type FetchInitLike, type FetchLike, type FetchResponseLike } from './http.js';
export { ConfabError, isConfabError, type ConfabErrorCode, type ConfabErrorOptions } from './errors.js';
export { Emitter, type Listener } from './emitter.js';
export { Backoff, DEFAULT_BACKOFF, backoffCeiling, backoffDelay, type BackoffOptions } from './backoff.js';
export type { SendAck } from './outbox.js';
export type { SyncState } from './sync.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { defaultClientId } from './ids.js';
export { MUTED_FOREVER } from '@confab/protocol';
// Protocol types apps handle in events and API results, re-exported for convenience.
export type {
  BlockedUser,
  ChannelDetail,
  ChannelSummary,
  Device,
  ErrorCode,
  Member,
  Message,
  Presence,
  PushConfigResponse,
  PushRegistrationBody,
  Receipt,
  Role,
  SessionResponse,
  SyncEntry,
  SystemEvent,
  User,
  WelcomeFrame,
} from '@confab/protocol';
