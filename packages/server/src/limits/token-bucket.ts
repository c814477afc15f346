/*
 * Token buckets: a bucket holds up to `capacity` tokens and refills
 * continuously at `refillPerMs`; an action costs tokens and is refused when
 * the bucket holds fewer. Capacity is the burst allowed at once, the refill
 * rate the pace allowed forever. Pure functions, shared by the in-process
 * limiters and mirrored by the Redis script.
 */

export interface BucketSpec {
  /** Most tokens the bucket holds (a bucket never seen is full). */
  capacity: number;
  /** Tokens added per millisecond. */
  refillPerMs: number;
}

export interface BucketState {
  tokens: number;
  /** When `tokens` was computed (ms). */
  at: number;
}

/** A bucket allowing `count` actions at once, refilled fully over `windowMs`. */
export function perWindow(count: number, windowMs: number): BucketSpec {
  return { capacity: count, refillPerMs: count / windowMs };
}

/** The tokens in the bucket at `now` (a clock going backwards adds nothing). */
export function level(state: BucketState | undefined, spec: BucketSpec, now: number): number {
  if (!state) return spec.capacity;
  return Math.min(spec.capacity, state.tokens + Math.max(0, now - state.at) * spec.refillPerMs);
}

/**
 * Takes `cost` tokens at `now`. Returns the bucket's new state, or, when it
 * holds fewer than `cost`, how many ms until it will (and the state is
 * unchanged). A negative cost gives tokens back, never beyond capacity.
 */
export function takeTokens(
  state: BucketState | undefined,
  spec: BucketSpec,
  cost: number,
  now: number,
): { ok: true; state: BucketState } | { ok: false; waitMs: number } {
  const tokens = level(state, spec, now);
  if (cost > 0 && tokens < cost) {
    if (cost > spec.capacity || spec.refillPerMs <= 0) return { ok: false, waitMs: Number.POSITIVE_INFINITY };
    return { ok: false, waitMs: Math.max(1, Math.ceil((cost - tokens) / spec.refillPerMs)) };
  }
  return { ok: true, state: { tokens: Math.min(spec.capacity, tokens - cost), at: Math.max(now, state?.at ?? now) } };
}

/** Whether a bucket in this state is full at `now`, i.e. the same as one never seen. */
export function isFull(state: BucketState, spec: BucketSpec, now: number): boolean {
  return level(state, spec, now) >= spec.capacity;
}
