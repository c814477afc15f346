export interface BackoffOptions {
  /** Upper bound of the first delay. */
  initialDelayMs: number;
  /** Upper bound of every delay. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000 };

/** The largest delay allowed for a given attempt: min(max, initial * 2^attempt). */
export function backoffCeiling(attempt: number, opts: BackoffOptions): number {
  // The exponent is capped so that 0 * 2^big never becomes NaN.
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 32);
  return Math.max(0, Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** exp));
}

/**
 * "Full jitter": a uniform delay in [0, ceiling]. When a server restarts, every
 * client reconnects at once; spreading them over the whole window avoids the
 * synchronized waves that fixed or lightly-jittered delays produce.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, opts);
  return Math.min(ceiling, Math.floor(random() * (ceiling + 1)));
}

/** Counts attempts; `reset` after a success so the next failure starts small again. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.attempt++, this.opts, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
