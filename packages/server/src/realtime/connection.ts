import { CloseCode, type ServerFrame } from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import { OutboundFrame, type ClientSocket, type ConnectionEvents } from './client-socket.js';
import { encodeFrame } from './encode.js';

/** Where a connection reports what its socket tells it (the gateway). */
export interface ConnectionHandler {
  frame(conn: Connection, data: Buffer | string, isBinary: boolean): void;
  ended(conn: Connection): void;
  wrote(bytes: number): void;
}

/**
 * One authenticated WebSocket. Writes never wait: a socket whose unsent bytes
 * pass the outbound limit is closed as too slow, so one stalled reader can
 * never hold memory or delay anyone else's delivery. Its device catches up by
 * sync when it reconnects.
 *
 * An idle connection is mostly this object and its socket, so it holds no
 * closures: the transport calls its methods, which hand over to the shared
 * handler.
 */
export class Connection implements ConnectionEvents {
  lastSeenAt: number;
  closed = false;
  /** Invalid frames in a row. */
  errors = 0;

  constructor(
    readonly id: string,
    readonly session: Session,
    private readonly socket: ClientSocket,
    private readonly maxOutboundBytes: number,
    now: number,
    private readonly handler: ConnectionHandler,
  ) {
    this.lastSeenAt = now;
  }

  get userId(): string {
    return this.session.user.id;
  }

  get deviceId(): string {
    return this.session.device.id;
  }

  onMessage(data: Buffer | string, isBinary: boolean): void {
    this.handler.frame(this, data, isBinary);
  }

  onClose(): void {
    this.handler.ended(this);
  }

  send(frame: ServerFrame): void {
    this.sendFrame(new OutboundFrame(encodeFrame(frame)));
  }

  /** Sends a frame encoded once for all its recipients. */
  sendFrame(frame: OutboundFrame): void {
    if (this.closed || !this.socket.isOpen) return;
    const bytes = frame.payload.length;
    if (this.socket.bufferedAmount + bytes > this.maxOutboundBytes) {
      this.close(CloseCode.TOO_SLOW, 'too slow');
      return;
    }
    this.socket.writeFrame(frame);
    this.handler.wrote(bytes);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.shutdown(code, reason);
  }
}
