import { AUTH_SUBPROTOCOL_PREFIX, PROTOCOL_NAME, WS_PATH, type ServerFrame } from '@confab/protocol';
import WebSocket from 'ws';

/**
 * A bare WebSocket speaking the protocol by hand, for tests of what the
 * server does with frames the SDK would never send.
 */
export class RawSocket {
  readonly frames: ServerFrame[] = [];
  private waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve((this.closeCode = code))));
  }

  static open(url: string, token: string, opts: { via?: 'subprotocol' | 'header'; origin?: string } = {}): Promise<RawSocket> {
    const wsUrl = url.replace(/^http/, 'ws') + WS_PATH;
    const origin = opts.origin !== undefined ? { origin: opts.origin } : {};
    const ws =
      opts.via === 'header'
        ? new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, ...origin })
        : new WebSocket(wsUrl, [PROTOCOL_NAME, AUTH_SUBPROTOCOL_PREFIX + token], origin);
    const sock = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
      sock.next('welcome').then(() => resolve(sock), reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or future) of this type that matches. */
  next<T extends ServerFrame['type']>(type: T, match: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true, timeoutMs = 5_000): Promise<Extract<ServerFrame, { type: T }>> {
    const test = (f: ServerFrame) => f.type === type && match(f as Extract<ServerFrame, { type: T }>);
    const idx = this.frames.findIndex(test);
    if (idx >= 0) return Promise.resolve(this.frames.splice(idx, 1)[0] as Extract<ServerFrame, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
      this.waiters.push({
        match: test,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f as Extract<ServerFrame, { type: T }>);
        },
      });
    });
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}
