/**
 * The subset of the standard WebSocket the client uses. The browser and React
 * Native WebSocket and the `ws` package's WebSocket all fit it. Event
 * parameters are loose on purpose: each implementation has its own event types.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState value of an open socket (the same constant everywhere). */
export const WS_OPEN = 1;

/** `http(s)://host/prefix` → `ws(s)://host/prefix/v1/ws`. */
export function webSocketUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/^http(s?):\/\//i, 'ws$1://') + path;
}
