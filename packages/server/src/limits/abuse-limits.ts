import { isIPv4, isIPv6 } from 'node:net';
import { rateLimited } from '../errors.js';
import type { RateLimiter } from './rate-limiter.js';
import { perWindow, type BucketSpec } from './token-bucket.js';

export interface AbuseLimitsOptions {
  /** Failed logins allowed per username per window (0: no limit). */
  loginFailuresPerAccount: number;
  /** Failed logins allowed per client address per window (0: no limit). */
  loginFailuresPerAddress: number;
  loginFailureWindowMs: number;
  /** Group operations per user per minute (0: no limit). */
  groupOpsPerMinute: number;
  now: () => number;
  /** The limiter failed (e.g. Redis is down); the request then goes ahead. */
  onError: (err: unknown) => void;
}

/** A login or password check in progress; only a failed one keeps its cost. */
export interface Attempt {
  /** The password was right (or the attempt ended for another reason): give its tokens back. */
  refund(): Promise<void>;
}

const NO_ATTEMPT: Attempt = { refund: async () => {} };

/**
 * The cluster-wide limits (any node may serve these requests): failed logins
 * per account and per client address, and group operations per user. They
 * draw from the shared RateLimiter. When the limiter itself fails, requests
 * go ahead: a limit must not turn a Redis outage into an outage of logins.
 */
export class AbuseLimits {
  private readonly account: BucketSpec | null;
  private readonly address: BucketSpec | null;
  private readonly groupOps: BucketSpec | null;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly opts: AbuseLimitsOptions,
  ) {
    this.account = opts.loginFailuresPerAccount > 0 ? perWindow(opts.loginFailuresPerAccount, opts.loginFailureWindowMs) : null;
    this.address = opts.loginFailuresPerAddress > 0 ? perWindow(opts.loginFailuresPerAddress, opts.loginFailureWindowMs) : null;
    this.groupOps = opts.groupOpsPerMinute > 0 ? perWindow(opts.groupOpsPerMinute, 60_000) : null;
  }

  /**
   * Starts a password check for `username` from `address`: one token from
   * each bucket up front (so parallel guesses cannot all pass a check made
   * before any of them failed), given back by `refund` unless it failed.
   * Refused with `rate_limited` while either bucket is empty.
   */
  async passwordAttempt(username: string, address: string | undefined): Promise<Attempt> {
    const taken: [string, BucketSpec][] = [];
    const buckets: [string, BucketSpec | null][] = [
      [`login-account:${username.trim().toLowerCase()}`, this.account],
      [`login-address:${addressKey(address)}`, address === undefined ? null : this.address],
    ];
    const now = this.opts.now();
    for (const [key, spec] of buckets) {
      if (!spec) continue;
      const wait = await this.take(key, spec, 1, now);
      if (wait > 0) {
        await this.giveBack(taken, now);
        throw rateLimited(wait);
      }
      taken.push([key, spec]);
    }
    if (taken.length === 0) return NO_ATTEMPT;
    return { refund: () => this.giveBack(taken, this.opts.now()) };
  }

  /** One group operation by `userId`; refused with `rate_limited` past the per-minute allowance. */
  async groupOperation(userId: string): Promise<void> {
    if (!this.groupOps) return;
    const wait = await this.take(`group-ops:${userId}`, this.groupOps, 1, this.opts.now());
    if (wait > 0) throw rateLimited(wait);
  }

  private async take(key: string, spec: BucketSpec, cost: number, now: number): Promise<number> {
    try {
      return await this.limiter.take(key, spec, cost, now);
    } catch (err) {
      this.opts.onError(err);
      return 0;
    }
  }

  private async giveBack(taken: readonly [string, BucketSpec][], now: number): Promise<void> {
    for (const [key, spec] of taken) await this.take(key, spec, -1, now);
  }
}

/**
 * The bucket of a client address: IPv4 as is, IPv4-mapped IPv6 as IPv4, and
 * other IPv6 addresses by their /64, which one host can hop around in freely.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
