import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, MAX_CLIENT_ID_LENGTH, MAX_RESUME_HAVE, MAX_SYNC_CURSOR_LENGTH, MAX_SYNC_PAGE_SIZE } from './limits.js';
import type { ErrorCode } from './errors.js';
import type { Message, Presence, Receipt, SyncEntry } from './models.js';

/*
 * WebSocket frames are JSON text, one object per frame, tagged by `type`.
 * Client frames are validated against these schemas; server frames are typed only.
 */

const ChannelIdField = Type.String({ minLength: 1, maxLength: 64, pattern: ID_PATTERN });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Ref = Type.Optional(Type.String({ maxLength: 64, description: 'echoed in an error frame caused by this frame' }));

export const SendFrame = Type.Object(
  {
    type: Type.Literal('send'),
    id: Type.String({ minLength: 1, maxLength: MAX_CLIENT_ID_LENGTH, pattern: ID_PATTERN }),
    channelId: ChannelIdField,
    text: Type.String(),
  },
  { additionalProperties: false },
);
export const ReadFrame = Type.Object(
  { type: Type.Literal('read'), channelId: ChannelIdField, seq: Seq, ref: Ref },
  { additionalProperties: false },
);
export const DeliveredFrame = Type.Object(
  { type: Type.Literal('delivered'), channelId: ChannelIdField, seq: Seq, ref: Ref },
  { additionalProperties: false },
);
export const TypingFrame = Type.Object(
  { type: Type.Literal('typing'), channelId: ChannelIdField, ref: Ref },
  { additionalProperties: false },
);
export const PingFrame = Type.Object(
  { type: Type.Literal('ping'), t: Type.Optional(Type.Number()) },
  { additionalProperties: false },
);

/**
 * A sync over the socket: the same page as `GET /v1/sync`, plus, for every
 * listed channel named in `have`, the messages after that seq. A reconnecting
 * device resumes with this one frame instead of a sync request and a history
 * request per channel.
 */
export const SyncFrame = Type.Object(
  {
    type: Type.Literal('sync'),
    ref: Type.String({ minLength: 1, maxLength: 64, description: 'echoed in the answering `sync` or `error` frame' }),
    cursor: Type.String({ minLength: 1, maxLength: MAX_SYNC_CURSOR_LENGTH }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SYNC_PAGE_SIZE })),
    /** Highest seq the device holds contiguously, per channel id. */
    have: Type.Optional(Type.Record(Type.String({ pattern: ID_PATTERN }), Seq, { maxProperties: MAX_RESUME_HAVE, additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const ClientFrameSchemas = {
  send: SendFrame,
  sync: SyncFrame,
  read: ReadFrame,
  delivered: DeliveredFrame,
  typing: TypingFrame,
  ping: PingFrame,
} as const;

export type SendFrame = Static<typeof SendFrame>;
export type ReadFrame = Static<typeof ReadFrame>;
export type DeliveredFrame = Static<typeof DeliveredFrame>;
export type TypingFrame = Static<typeof TypingFrame>;
export type PingFrame = Static<typeof PingFrame>;
export type SyncFrame = Static<typeof SyncFrame>;
export type ClientFrame = SendFrame | SyncFrame | ReadFrame | DeliveredFrame | TypingFrame | PingFrame;
export type ClientFrameType = ClientFrame['type'];

export interface WelcomeFrame {
  type: 'welcome';
  userId: string;
  deviceId: string;
  /** The chat node holding this connection. */
  nodeId: string;
  connectionId: string;
  /** How often the client should send `ping`. */
  heartbeatMs: number;
  /** Silence after which the server closes the socket and the user may go offline. */
  presenceTimeoutMs: number;
  serverTime: number;
  limits: { maxMessageCodePoints: number; maxFrameBytes: number; maxGroupMembers: number };
}
export interface AckFrame {
  type: 'ack';
  /** The client id of the send being acknowledged. */
  id: string;
  channelId: string;
  seq: number;
  createdAt: number;
  /** true when this send had already been committed and this is the original ack again. */
  duplicate: boolean;
}
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** The client id of the send that failed, when the failing frame was a send. */
  id?: string;
  /** The `ref` of the failing frame, when it had one. */
  ref?: string;
  /** With `rate_limited`: how long to wait, in ms, before resending. */
  retryAfterMs?: number;
}
export interface MessageFrame {
  type: 'message';
  message: Message;
}
export interface ReceiptsFrame {
  type: 'receipts';
  channelId: string;
  receipts: Receipt[];
}
export interface PresenceFrame extends Presence {
  type: 'presence';
}
export interface TypingEventFrame {
  type: 'typing';
  channelId: string;
  userId: string;
}
export interface PongFrame {
  type: 'pong';
  t?: number;
  serverTime: number;
}
/** To the user's own connections: the channel's mute setting changed (on any of their devices). */
export interface MutedFrame {
  type: 'muted';
  channelId: string;
  mutedUntil: number | null;
}
/** A sync entry with the messages the device asked for by `have`. */
export interface ResumeEntry extends SyncEntry {
  /**
   * Ascending messages after `have[channelId]`, up to `lastSeq`. Present only
   * for channels named in `have`; it may stop short of `lastSeq` (per-channel
   * and per-frame budgets), and history fetches the rest.
   */
  messages?: Message[];
}
/** The answer to a client `sync` frame: a sync page (see `SyncResponse`). */
export interface SyncPageFrame {
  type: 'sync';
  ref: string;
  cursor: string;
  hasMore: boolean;
  channels: ResumeEntry[];
}
/** Sent before a drain: reconnect now (to any node); the socket closes with 1012 shortly after. */
export interface ReconnectFrame {
  type: 'reconnect';
  reason: 'draining';
}
export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | ErrorFrame
  | MessageFrame
  | ReceiptsFrame
  | PresenceFrame
  | TypingEventFrame
  | PongFrame
  | MutedFrame
  | SyncPageFrame
  | ReconnectFrame;
export type ServerFrameType = ServerFrame['type'];
