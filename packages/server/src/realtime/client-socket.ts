/**
 * The transport port: what the realtime core needs from one accepted
 * WebSocket, whatever serves it (`ws` on Node, Bun's built-in server on Bun).
 * The core never sees a transport's own socket type.
 *
 * Contract:
 * - `writeFrame` never blocks and never throws; a frame given to a closed socket is dropped.
 * - `bufferedAmount` counts bytes accepted by `writeFrame` but not yet handed
 *   to the kernel, so the core can close a reader that has stopped reading.
 * - `shutdown` starts the closing handshake and guarantees the socket is gone
 *   a short while later even if the peer never answers.
 * - The transport reports the peer's frames and the socket's end through the
 *   `ConnectionEvents` that `Gateway.open` returns.
 *
 * (The method names stay clear of `ws`'s own, so its WebSocket class can
 * implement the port itself: one object per connection, not two.)
 */
export interface ClientSocket {
  writeFrame(frame: OutboundFrame): void;
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
  shutdown(code: number, reason: string): void;
}

/**
 * One serialized server frame on its way to any number of sockets. Each
 * transport may cache its own wire form here (e.g. a ready WebSocket frame,
 * or a string), so a fan-out to a hundred members encodes once, not a hundred
 * times.
 */
export class OutboundFrame {
  /** Transport-private cache of the wire form; set by the first socket that needs it. */
  wire: unknown = undefined;

  constructor(readonly payload: Buffer) {}
}

/** What the transport tells the core about one open connection. */
export interface ConnectionEvents {
  /** A data frame from the peer (text unless `isBinary`). */
  onMessage(data: Buffer | string, isBinary: boolean): void;
  /** The socket is gone (closed by either side, or failed); a second call is ignored. */
  onClose(): void;
}
