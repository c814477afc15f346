import { CloseCode, type ServerFrame } from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import { OutboundFrame, type ClientSocket } from './client-socket.js';
import { encodeFrame } from './encode.js';

/**
 * One authenticated WebSocket. Writes never wait: a socket whose unsent bytes
 * pass the outbound limit is closed as too slow, so one stalled reader can
 * never hold memory or delay anyone else's delivery. Its device catches up by
 * sync when it reconnects.
 */
export class Connection {
  lastSeenAt: number;
  closed = false;

  constructor(
    readonly id: string,
    readonly session: Session,
    private readonly socket: ClientSocket,
    private readonly maxOutboundBytes: number,
    now: number,
    private readonly onWrite: (bytes: number) => void,
  ) {
    this.lastSeenAt = now;
  }

  get userId(): string {
    return this.session.user.id;
  }

  get deviceId(): string {
    return this.session.device.id;
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
    this.socket.send(frame);
    this.onWrite(bytes);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
  }
}
