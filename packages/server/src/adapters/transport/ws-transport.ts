import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MAX_FRAME_BYTES, PROTOCOL_NAME } from '@confab/protocol';
import * as ws from 'ws';
import type { ClientSocket, ConnectionEvents, OutboundFrame } from '../../realtime/client-socket.js';
import type { Gateway } from '../../realtime/gateway.js';

/** ws's framing, which its type declarations leave out. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] };
};

/**
 * The complete WebSocket text frame for an encoded payload (header, then the
 * payload itself, not copied), built by ws's own framing.
 */
export function wireFrame(payload: Buffer): Buffer[] {
  return Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true });
}

/** How long a peer may take to answer our close frame before the socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/**
 * One `ws` socket as the core's ClientSocket. Frames arrive already framed
 * (`wireFrame`, cached on the OutboundFrame: built once per message for all
 * recipients) and go straight to the TCP socket, corked until the end of the
 * tick: a group commit that fans ten messages out to the same member costs
 * one write system call for that member, not ten. ws keeps the upgraded
 * socket as `_socket`; writing whole frames to it is what ws itself does for
 * an uncompressed message (compression is off).
 */
class WsClientSocket implements ClientSocket {
  private corked = false;
  private readonly tcp: Socket;

  constructor(private readonly socket: ws.WebSocket) {
    this.tcp = (socket as unknown as { _socket: Socket })._socket;
  }

  get isOpen(): boolean {
    return this.socket.readyState === ws.WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.tcp.writableLength;
  }

  send(frame: OutboundFrame): void {
    if (!this.isOpen) return;
    const wire = (frame.wire ??= wireFrame(frame.payload)) as Buffer[];
    if (!this.corked) {
      this.corked = true;
      this.tcp.cork();
      process.nextTick(uncork, this);
    }
    for (const part of wire) this.tcp.write(part);
  }

  uncork(): void {
    this.corked = false;
    this.tcp.uncork();
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    // A peer that never completes the closing handshake must not hold the socket.
    setTimeout(terminate, CLOSE_GRACE_MS, this.socket).unref();
  }
}

function uncork(socket: WsClientSocket): void {
  socket.uncork();
}

function terminate(socket: ws.WebSocket): void {
  socket.terminate();
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * The Node transport: `ws` on the HTTP server's upgrade event. The gateway
 * admits the request (path, authentication) before ws touches the socket.
 */
export class WsTransport {
  private readonly wss: ws.WebSocketServer;

  constructor(
    private readonly gateway: Gateway,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {
    this.wss = new ws.WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      // Echo only the version protocol; the auth "protocol" is never echoed.
      handleProtocols: (protocols) => (protocols.has(PROTOCOL_NAME) ? PROTOCOL_NAME : false),
    });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(req, socket, head);
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const admission = await this.gateway.admit({
      path: (req.url ?? '').split('?')[0] ?? '',
      protocols: req.headers['sec-websocket-protocol'],
      authorization: req.headers.authorization,
    });
    if (!admission.ok) return refuse(socket, admission.status, admission.reason);
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (socket) => {
      const events: ConnectionEvents = this.gateway.open(new WsClientSocket(socket), admission.session);
      socket.on('message', events.message);
      socket.on('close', events.closed);
      socket.on('error', (err) => this.log.warn({ err: err.message }, 'websocket error'));
    });
  }

  close(): void {
    this.wss.close();
  }
}
