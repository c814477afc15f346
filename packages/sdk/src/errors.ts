import { ERROR_CODES, isErrorCode, type ErrorBody, type ErrorCode } from '@confab/protocol';

/**
 * Codes a ConfabError can carry: every protocol code, plus two that only the
 * SDK produces. `network_error` means the server could not be reached (or did
 * not answer in time); `closed` means the client was closed by the app before
 * the operation could finish.
 */
export type ConfabErrorCode = ErrorCode | 'network_error' | 'closed';

export interface ConfabErrorOptions {
  status?: number;
  retryable?: boolean;
  /** With `rate_limited`: how long the server asked to wait, in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Every failure the SDK reports. Branch on `code`, never on `message`. */
export class ConfabError extends Error {
  override readonly name = 'ConfabError';
  readonly code: ConfabErrorCode;
  /** HTTP status for protocol codes; 0 for SDK-only codes. */
  readonly status: number;
  /** true when the same request may succeed later unchanged. */
  readonly retryable: boolean;
  /** With `rate_limited`: wait this long (ms) before trying again. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ConfabErrorCode, message?: string, opts: ConfabErrorOptions = {}) {
    super(message ?? defaultMessage(code), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    const known = isErrorCode(code) ? ERROR_CODES[code] : undefined;
    this.status = opts.status ?? known?.status ?? 0;
    this.retryable = opts.retryable ?? known?.retryable ?? code === 'network_error';
    this.retryAfterMs = opts.retryAfterMs;
  }

  /** Builds the error for an ErrorBody received over HTTP or in an `error` frame. */
  static fromBody(body: Pick<ErrorBody, 'code' | 'message' | 'retryable' | 'retryAfterMs'>, status?: number): ConfabError {
    return new ConfabError(body.code, body.message, {
      retryable: body.retryable,
      ...(status !== undefined && { status }),
      ...(isWait(body.retryAfterMs) && { retryAfterMs: body.retryAfterMs }),
    });
  }
}

function isWait(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function defaultMessage(code: ConfabErrorCode): string {
  if (code === 'network_error') return 'The server could not be reached.';
  if (code === 'closed') return 'The client was closed.';
  return ERROR_CODES[code].description;
}

/** True when `err` is a ConfabError with one of the given codes. */
export function isConfabError(err: unknown, ...codes: ConfabErrorCode[]): err is ConfabError {
  return err instanceof ConfabError && (codes.length === 0 || codes.includes(err.code));
}
