import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@confab/protocol';

/**
 * The only error type the domain throws on purpose. It carries a protocol
 * error code; transports turn it into an HTTP response or an `error` frame
 * through `toErrorBody`, the one boundary mapping.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERROR_CODES[code].description);
    this.name = 'AppError';
    this.code = code;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) {
    return { code: err.code, message: err.message, retryable: ERROR_CODES[err.code].retryable };
  }
  return { code: 'internal', message: ERROR_CODES.internal.description, retryable: true };
}
