/**
 * The one table of error codes. Every refusal on HTTP or WebSocket carries one
 * of these codes; clients branch on the code, never on the message text.
 * `retryable` tells the SDK whether the same request may succeed later unchanged.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, retryable: false, description: 'The request or frame does not match its schema, or is not valid JSON.' },
  unknown_frame: { status: 400, retryable: false, description: 'The frame `type` is not one the server knows.' },
  frame_too_large: { status: 413, retryable: false, description: 'The frame or body is larger than the largest legal one.' },
  message_empty: { status: 400, retryable: false, description: 'The message text is empty.' },
  message_too_long: { status: 400, retryable: false, description: 'The message text has more than 100,000 Unicode code points.' },
  invalid_text: { status: 400, retryable: false, description: 'The text contains U+0000 or unpaired surrogates.' },
  invalid_username: { status: 400, retryable: false, description: 'Usernames are 3–32 characters of a-z, 0-9, `_` and `.`, starting with a letter or digit.' },
  invalid_password: { status: 400, retryable: false, description: 'Passwords are 8–1024 characters.' },
  invalid_name: { status: 400, retryable: false, description: 'A display or group name is empty or too long.' },
  unauthorized: { status: 401, retryable: false, description: 'No token, or the token is unknown or revoked.' },
  invalid_credentials: { status: 401, retryable: false, description: 'Username or password is wrong.' },
  forbidden: { status: 403, retryable: false, description: 'Your role in the channel does not allow this action.' },
  not_member: { status: 403, retryable: false, description: 'You are not a member of this channel (or no longer are).' },
  blocked: { status: 403, retryable: false, description: 'One of you has blocked the other: no direct messages between you.' },
  push_unsupported: { status: 400, retryable: false, description: 'This server does not send pushes through that service, or the Web Push endpoint is not at a known push service.' },
  user_not_found: { status: 404, retryable: false, description: 'No user has this id.' },
  channel_not_found: { status: 404, retryable: false, description: 'No channel has this id.' },
  device_not_found: { status: 404, retryable: false, description: 'No device of yours has this id.' },
  not_found: { status: 404, retryable: false, description: 'No such route.' },
  username_taken: { status: 409, retryable: false, description: 'Another account already has this username.' },
  group_full: { status: 409, retryable: false, description: 'The group already has the maximum number of members.' },
  idempotency_conflict: { status: 409, retryable: false, description: 'This client id was already used by this device for a different message; the original is kept.' },
  not_allowed_in_direct: { status: 409, retryable: false, description: 'Direct (1:1) channels have exactly two members; membership cannot change.' },
  already_member: { status: 409, retryable: false, description: 'The user is already a member of the channel.' },
  rate_limited: { status: 429, retryable: true, description: 'Too many requests; retry after `retryAfterMs`.' },
  unavailable: { status: 503, retryable: true, description: 'The server is shutting down or its storage is unavailable; retry.' },
  internal: { status: 500, retryable: true, description: 'An unexpected server error; retry later.' },
} as const satisfies Record<string, { status: number; retryable: boolean; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** The body of every HTTP error response and the payload of a WebSocket `error` frame. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** With `rate_limited`: how long to wait, in ms, before the same request can succeed. */
  retryAfterMs?: number;
}
