import { MAX_FRAME_BYTES, PROTOCOL_NAME } from '@confab/protocol';
import type { FastifyInstance } from 'fastify';
import type { ClientSocket, ConnectionEvents, OutboundFrame } from '../../realtime/client-socket.js';
import type { Gateway } from '../../realtime/gateway.js';

/*
 * The Bun transport: Bun's built-in HTTP and WebSocket server (uWebSockets
 * underneath) in place of node:http + ws. WebSocket upgrades are admitted by
 * the same Gateway; every other request goes to the same Fastify app through
 * `inject`, so routes, validation and headers are one code path on both
 * runtimes. Bun's type declarations are not a dependency: the slice used
 * here is declared below.
 */

interface BunSocket<D> {
  readonly data: D;
  readonly readyState: number;
  sendText(text: string): number;
  getBufferedAmount(): number;
  cork(callback: () => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

interface BunServer {
  readonly port: number;
  upgrade(req: Request, options: { data: unknown; headers?: Record<string, string> }): boolean;
  requestIP(req: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

interface BunServeOptions<D> {
  hostname: string;
  port: number;
  maxRequestBodySize: number;
  fetch(req: Request, server: BunServer): Promise<Response | undefined> | Response | undefined;
  websocket: {
    maxPayloadLength: number;
    idleTimeout: number;
    sendPings: boolean;
    perMessageDeflate: boolean;
    backpressureLimit: number;
    closeOnBackpressureLimit: boolean;
    open(ws: BunSocket<D>): void;
    message(ws: BunSocket<D>, message: string | Buffer): void;
    close(ws: BunSocket<D>, code: number, reason: string): void;
  };
}

declare const Bun: { serve<D>(options: BunServeOptions<D>): BunServer };

interface SocketData {
  session: Parameters<Gateway['open']>[1];
  events?: ConnectionEvents;
}

const OPEN = 1;
const CLOSE_GRACE_MS = 2_000;

/**
 * One Bun socket as the core's ClientSocket. Sends made during one tick are
 * held and written inside one `cork`, so that, as on Node, a commit that fans
 * several messages out to the same member costs one write system call (a send
 * outside Bun's own callbacks is otherwise written at once).
 */
class BunClientSocket implements ClientSocket {
  private pending: string[] | undefined;
  private pendingBytes = 0;

  constructor(private readonly ws: BunSocket<SocketData>) {}

  get isOpen(): boolean {
    return this.ws.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.getBufferedAmount() + this.pendingBytes;
  }

  writeFrame(frame: OutboundFrame): void {
    // Bun frames each send itself; the text is decoded once per message for all recipients.
    const text = (frame.wire ??= frame.payload.toString()) as string;
    if (this.pending) this.pending.push(text);
    else {
      this.pending = [text];
      process.nextTick(flush, this);
    }
    this.pendingBytes += frame.payload.length;
  }

  flush(): void {
    const texts = this.pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    if (!texts || !this.isOpen) return;
    if (texts.length === 1) this.ws.sendText(texts[0]!);
    else this.ws.cork(() => texts.forEach((t) => this.ws.sendText(t)));
  }

  shutdown(code: number, reason: string): void {
    this.ws.close(code, reason);
    const ws = this.ws;
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}

function flush(socket: BunClientSocket): void {
  socket.flush();
}

export interface BunTransportOptions {
  gateway: Gateway;
  app: FastifyInstance;
  host: string;
  port: number;
  maxBodyBytes: number;
  maxOutboundBytes: number;
}

export interface BunTransport {
  readonly port: number;
  close(): Promise<void>;
}

/** Hands a plain HTTP request to the Fastify app and its answer back to Bun. */
async function viaFastify(app: FastifyInstance, req: Request, remoteAddress: string | undefined): Promise<Response> {
  const url = new URL(req.url);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const requestHeaders: Record<string, string> = {};
  req.headers.forEach((value, name) => (requestHeaders[name] = value));
  const res = await app.inject({
    method: req.method as 'GET',
    url: url.pathname + url.search,
    headers: requestHeaders,
    ...(hasBody && { payload: Buffer.from(await req.arrayBuffer()) }),
    ...(remoteAddress && { remoteAddress }),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    // Bun frames the body itself.
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, String(v));
    else headers.set(name, String(value));
  }
  return new Response(req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 ? null : (res.rawPayload as unknown as BodyInit), {
    status: res.statusCode,
    headers,
  });
}

export async function serveBun(options: BunTransportOptions): Promise<BunTransport> {
  const { gateway, app } = options;
  await app.ready();
  const server = Bun.serve<SocketData>({
    hostname: options.host,
    port: options.port,
    maxRequestBodySize: options.maxBodyBytes,
    async fetch(req, server) {
      const url = new URL(req.url);
      if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') return viaFastify(app, req, server.requestIP(req)?.address);
      const admission = await gateway.admit({
        path: url.pathname,
        protocols: req.headers.get('sec-websocket-protocol') ?? undefined,
        authorization: req.headers.get('authorization') ?? undefined,
        origin: req.headers.get('origin') ?? undefined,
        host: req.headers.get('host') ?? undefined,
        forwardedHost: req.headers.get('x-forwarded-host') ?? undefined,
      });
      if (!admission.ok) return new Response(null, { status: admission.status, headers: { connection: 'close' } });
      const offered = (req.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
      // Echo only the version protocol; the auth "protocol" is never echoed.
      const headers: Record<string, string> = offered.includes(PROTOCOL_NAME) ? { 'Sec-WebSocket-Protocol': PROTOCOL_NAME } : {};
      if (server.upgrade(req, { data: { session: admission.session }, headers })) return undefined;
      return new Response(null, { status: 400 });
    },
    websocket: {
      maxPayloadLength: MAX_FRAME_BYTES,
      // Liveness is the gateway's (client pings and the presence sweep), as on Node.
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: false,
      // The gateway closes a slow reader itself (4100) at the same limit as on Node.
      backpressureLimit: options.maxOutboundBytes * 2,
      closeOnBackpressureLimit: false,
      open(ws) {
        ws.data.events = gateway.open(new BunClientSocket(ws), ws.data.session);
      },
      message(ws, message) {
        ws.data.events?.onMessage(message, typeof message !== 'string');
      },
      close(ws) {
        ws.data.events?.onClose();
      },
    },
  });
  return {
    port: server.port,
    close: async () => {
      await server.stop(true);
    },
  };
}
