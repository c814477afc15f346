import { AppError } from '../errors.js';
import type { PushPolicy, AppendBatchResult, AppendRequest, AppendResult, Store } from '../store/store.js';

interface Pending {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. Sends that arrive within one event-loop turn (and while the
 * previous commit is running) are appended in one store transaction, so the
 * cost of a durable commit (an fsync) is shared by the whole batch.
 *
 * Exactly one commit runs at a time and `onCommitted` runs before the next
 * one starts, so fan-out leaves this node in commit (= seq) order.
 */
export class SendBatcher {
  private queue: Pending[] = [];
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
      for (const p of batch) p.reject(refusal);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const done of this.idle.splice(0)) done();
    }
  }
}
