/**
 * WebSocket close codes. The range tells the SDK what to do:
 * 4000–4099 are terminal (do not reconnect with the same credentials),
 * 4100–4199 and the standard 1001/1006/1011/1012/1013 mean "reconnect with backoff".
 */
export const CloseCode = {
  /** Standard: the server is going away (shutdown without drain). */
  GOING_AWAY: 1001,
  /** Standard: a frame larger than MAX_FRAME_BYTES. */
  MESSAGE_TOO_BIG: 1009,
  /** Standard: the node is restarting or draining; reconnect (possibly elsewhere). */
  SERVICE_RESTART: 1012,
  /** The token is missing, unknown or revoked. */
  UNAUTHORIZED: 4001,
  /** This device was logged out; its token will never work again. */
  SESSION_REVOKED: 4003,
  /** The client stopped reading and its outbound queue passed the limit; it may reconnect and sync. */
  TOO_SLOW: 4100,
  /** No frame (not even a ping) arrived within the presence timeout. */
  HEARTBEAT_TIMEOUT: 4101,
  /** Too many frames that failed validation in a row. */
  TOO_MANY_ERRORS: 4102,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** True when the SDK must not reconnect on its own after this close code. */
export function isTerminalClose(code: number): boolean {
  return code >= 4000 && code < 4100;
}

/** Subprotocol that names the protocol version; the server always echoes it. */
export const PROTOCOL_NAME = 'confab.v1';
/**
 * Browsers cannot set headers on a WebSocket, and a token in the URL ends up in
 * logs, so the token travels as a second offered subprotocol `confab.auth.<token>`.
 * The server never echoes it. Non-browser clients may use `Authorization: Bearer`.
 */
export const AUTH_SUBPROTOCOL_PREFIX = 'confab.auth.';
export const WS_PATH = '/v1/ws';
