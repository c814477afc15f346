import { CloseCode, type ServerFrame } from '@confab/protocol';
import type { WebSocket } from 'ws';
import type { Session } from '../accounts/accounts-service.js';
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
    private readonly socket: WebSocket,
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
    this.sendRaw(encodeFrame(frame));
  }

  /** Writes an already-encoded frame as a text message. */
  sendRaw(payload: Buffer): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount + payload.length > this.maxOutboundBytes) {
      this.close(CloseCode.TOO_SLOW, 'too slow');
      return;
    }
    this.socket.send(payload, { binary: false });
    this.onWrite(payload.length);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
    // A peer that never completes the closing handshake must not hold the socket.
    const socket = this.socket;
    setTimeout(() => socket.terminate(), 2_000).unref();
  }
}
