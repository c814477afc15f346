import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, MAX_CLIENT_ID_LENGTH } from './limits.js';
import type { ErrorCode } from './errors.js';
import type { Message, Presence, Receipt } from './models.js';

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

export const ClientFrameSchemas = {
  send: SendFrame,
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
export type ClientFrame = SendFrame | ReadFrame | DeliveredFrame | TypingFrame | PingFrame;
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
  | ReconnectFrame;
export type ServerFrameType = ServerFrame['type'];
