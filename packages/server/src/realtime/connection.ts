import type { Socket } from 'node:net';
import { CloseCode, type ServerFrame } from '@confab/protocol';
import { WebSocket } from 'ws';
import type { Session } from '../accounts/accounts-service.js';
import { encodeFrame, wireFrame } from './encode.js';

/**
 * One authenticated WebSocket. Writes never wait: a socket whose unsent bytes
 * pass the outbound limit is closed as too slow, so one stalled reader can
 * never hold memory or delay anyone else's delivery. Its device catches up by
 * sync when it reconnects.
 *
 * Frames arrive already framed (`wireFrame`: built once per message for all
 * recipients) and go straight to the TCP socket, corked until the end of the
 * tick: a group commit that fans ten messages out to the same member costs
 * one write system call for that member, not ten.
 */
export class Connection {
  lastSeenAt: number;
  closed = false;
  private corked = false;
  private readonly tcp: Socket;

  constructor(
    readonly id: string,
    readonly session: Session,
    private readonly socket: WebSocket,
    private readonly maxOutboundBytes: number,
    now: number,
    private readonly onWrite: (bytes: number) => void,
  ) {
    this.lastSeenAt = now;
    // ws keeps the upgraded socket as `_socket`; writing whole frames to it is
    // what ws itself does for an uncompressed message (compression is off).
    this.tcp = (socket as unknown as { _socket: Socket })._socket;
  }

  get userId(): string {
    return this.session.user.id;
  }

  get deviceId(): string {
    return this.session.device.id;
  }

  send(frame: ServerFrame): void {
    this.sendWire(wireFrame(encodeFrame(frame)));
  }

  /** Writes a complete WebSocket frame (header and payload, see `wireFrame`). */
  sendWire(wire: readonly Buffer[]): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return;
    let bytes = 0;
    for (const part of wire) bytes += part.length;
    if (this.tcp.writableLength + bytes > this.maxOutboundBytes) {
      this.close(CloseCode.TOO_SLOW, 'too slow');
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.tcp.cork();
      process.nextTick(() => {
        this.corked = false;
        this.tcp.uncork();
      });
    }
    for (const part of wire) this.tcp.write(part);
    this.onWrite(bytes);
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
