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
 * A `ws` socket that is also the core's ClientSocket (ws builds it for us
 * through its `WebSocket` option), so an idle connection costs one socket
 * object and the core's Connection, and no per-connection closures. Its
 * `bufferedAmount` is ws's own: bytes in the TCP socket's buffer plus any
 * ws has queued.
 *
 * Frames arrive already framed (`wireFrame`, cached on the OutboundFrame:
 * built once per message for all recipients) and go straight to the TCP
 * socket, corked until the end of the tick: a group commit that fans ten
 * messages out to the same member costs one write system call for that
 * member, not ten. ws keeps the upgraded socket as `_socket`; writing whole
 * frames to it is what ws itself does for an uncompressed message
 * (compression is off).
 */
class ConfabWebSocket extends ws.WebSocket implements ClientSocket {
  events: ConnectionEvents | undefined = undefined;
  private corked = false;

  private get tcp(): Socket {
    return (this as unknown as { _socket: Socket })._socket;
  }

  get isOpen(): boolean {
    return this.readyState === ws.WebSocket.OPEN;
  }

  writeFrame(frame: OutboundFrame): void {
    if (!this.isOpen) return;
    const wire = (frame.wire ??= wireFrame(frame.payload)) as Buffer[];
    const tcp = this.tcp;
    if (!this.corked) {
      this.corked = true;
      tcp.cork();
      process.nextTick(uncork, this);
    }
    for (const part of wire) tcp.write(part);
  }

  uncork(): void {
    this.corked = false;
    this.tcp.uncork();
  }

  shutdown(code: number, reason: string): void {
    this.close(code, reason);
    // A peer that never completes the closing handshake must not hold the socket.
    setTimeout(terminate, CLOSE_GRACE_MS, this).unref();
  }
}

function uncork(socket: ConfabWebSocket): void {
  socket.uncork();
}

function uncorkRaw(socket: Duplex): void {
  if (!socket.destroyed) socket.uncork();
}

function terminate(socket: ConfabWebSocket): void {
  socket.terminate();
}

// Shared listeners (`this` is the socket): nothing is allocated per connection for them.
function onMessage(this: ws.WebSocket, data: Buffer, isBinary: boolean): void {
  (this as ConfabWebSocket).events?.onMessage(data, isBinary);
}

function onClose(this: ws.WebSocket): void {
  (this as ConfabWebSocket).events?.onClose();
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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
      WebSocket: ConfabWebSocket,
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
      origin: req.headers.origin,
      host: req.headers.host,
      forwardedHost: header(req.headers['x-forwarded-host']),
    });
    if (!admission.ok) return refuse(socket, admission.status, admission.reason);
    if (socket.destroyed) return;
    // The 101 response and the welcome (sent once the connection is routed,
    // a few microtasks later on one node) leave in one write: a system call
    // and a wake-up of the client saved per connection, which is what a
    // reconnect storm is made of.
    socket.cork();
    setImmediate(uncorkRaw, socket);
    this.wss.handleUpgrade(req, socket, head, (accepted) => {
      const ws = accepted as ConfabWebSocket;
      ws.events = this.gateway.open(ws, admission.session);
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.on('error', this.onError);
    });
  }

  private readonly onError = (err: Error): void => this.log.warn({ err: err.message }, 'websocket error');

  close(): void {
    this.wss.close();
  }
}
