import { ERROR_CODES } from '@confab/protocol';
import { AppError } from '../errors.js';
import type { PushPolicy, AppendBatchResult, AppendRequest, AppendResult, Store } from '../store/store.js';

interface Pending {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** How long a device stays held back after a failed commit if it never sends a refused message again. */
const HOLD_LAPSE_MS = 60_000;

/**
 * Group commit. Sends that arrive within one event-loop turn (and while the
 * previous commit is running) are appended in one store transaction, so the
 * cost of a durable commit (an fsync) is shared by the whole batch.
 *
 * Exactly one commit runs at a time and `onCommitted` runs before the next
 * one starts, so fan-out leaves this node in commit (= seq) order.
 *
 * A device's sends are committed in the order they arrive, also across a
 * failed commit: clients pipeline sends, so when a commit fails the device
 * has usually written newer sends before it can learn of the refusal.
 * Committing those would store them ahead of the refused ones, which the
 * client resends later. So the device's sends queued behind a failed batch
 * are refused with it, and the device is held back: until it has sent every
 * refused message again (the SDK resends them first, in their order), any
 * other send of it is refused as retryable too, and joins the ones to resend.
 */
export class SendBatcher {
  private queue: Pending[] = [];
  /** Devices held back after a failed commit: the client ids refused so far, and when the hold lapses. */
  private readonly held = new Map<string, { clientIds: Set<string>; until: number }>();
  private running = false;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly opts: {
      maxBatch: number;
      now: () => number;
      onCommitted: (requests: readonly AppendRequest[], result: AppendBatchResult) => void;
      onBatch?: (size: number, seconds: number) => void;
      /** What pushes a commit at `at` records (see Store.appendMessages); none when absent. */
      pushPolicy?: (at: number) => PushPolicy | undefined;
    },
  ) {}

  submit(request: AppendRequest): Promise<AppendResult> {
    const refusal = this.heldBack(request);
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every submitted send has been committed or refused. */
  drained(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** The refusal for a send of a held-back device, or null when it may go ahead. */
  private heldBack(request: AppendRequest): AppError | null {
    const device = request.senderDeviceId;
    const hold = this.held.get(device);
    if (!hold) return null;
    // The lapse frees a client that gave up instead of retrying.
    if (this.opts.now() >= hold.until) {
      this.held.delete(device);
      return null;
    }
    // A refused message sent again goes ahead: the client resends them oldest first.
    if (hold.clientIds.delete(request.clientId)) {
      if (hold.clientIds.size === 0) this.held.delete(device);
      return null;
    }
    // Anything else was written before the client learned of the refusals (or ahead of its retries).
    hold.clientIds.add(request.clientId);
    return new AppError('unavailable');
  }

  private hold(requests: AppendRequest[]): void {
    const until = this.opts.now() + HOLD_LAPSE_MS;
    for (const r of requests) {
      let hold = this.held.get(r.senderDeviceId);
      if (!hold) this.held.set(r.senderDeviceId, (hold = { clientIds: new Set(), until }));
      hold.clientIds.add(r.clientId);
      hold.until = until;
    }
    if (this.held.size > 10_000) {
      const now = this.opts.now();
      for (const [device, h] of this.held) if (h.until <= now) this.held.delete(device);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0) {
      for (const done of this.idle.splice(0)) done();
      return;
    }
    this.running = true;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    const requests = batch.map((p) => p.request);
    const started = performance.now();
    try {
      const at = this.opts.now();
      const result = await this.store.appendMessages(requests, at, this.opts.pushPolicy?.(at));
      this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
      try {
        this.opts.onCommitted(requests, result);
      } finally {
        batch.forEach((p, i) => p.resolve(result.results[i]!));
      }
    } catch (err) {
      // Nothing of this batch was committed; the sends are refused as
      // retryable and the SDK resends them with the same client ids.
      const refusal = err instanceof AppError ? err : new AppError('unavailable');
      let refused = batch;
      if (ERROR_CODES[refusal.code].retryable) {
        // The same devices' sends queued behind this batch must not overtake it (see the class comment).
        const devices = new Set(batch.map((p) => p.request.senderDeviceId));
        refused = [...batch, ...this.queue.filter((p) => devices.has(p.request.senderDeviceId))];
        this.queue = this.queue.filter((p) => !devices.has(p.request.senderDeviceId));
        this.hold(refused.map((p) => p.request));
      }
      for (const p of refused) p.reject(refusal);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const done of this.idle.splice(0)) done();
    }
  }
}
