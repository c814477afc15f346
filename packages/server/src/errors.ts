import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@confab/protocol';

/**
 * The only error type the domain throws on purpose. It carries a protocol
 * error code; transports turn it into an HTTP response or an `error` frame
 * through `toErrorBody`, the one boundary mapping.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** With `rate_limited`: how long until the same request can succeed. */
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message?: string, opts: { retryAfterMs?: number } = {}) {
    super(message ?? ERROR_CODES[code].description);
    this.name = 'AppError';
    this.code = code;
    this.retryAfterMs = opts.retryAfterMs;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** A refusal by a rate limit: retryable once `retryAfterMs` (at least 1 ms) has passed. */
export function rateLimited(retryAfterMs: number): AppError {
  return new AppError('rate_limited', undefined, { retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });
}

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) {
    const body: ErrorBody = { code: err.code, message: err.message, retryable: ERROR_CODES[err.code].retryable };
    if (err.retryAfterMs !== undefined) body.retryAfterMs = err.retryAfterMs;
    return body;
  }
  return { code: 'internal', message: ERROR_CODES.internal.description, retryable: true };
}
