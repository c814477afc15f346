import type { Store, PushJob, PushPolicy, ReceiptChange, DeliveredAck } from '../store/store.js';
import type { PushOutcome, PushPayload, PushRegistration, PushSender } from './push-sender.js';
import { previewOf } from './push-format.js';

/*
 * Push notifications for devices that did not get a message live.
 *
 * The decision is durable and lazy: every committed message records, in its
 * own transaction, a job per (device, channel) for each registered device of
 * the other members (Store.appendMessages with a PushPolicy), due after an
 * ack grace. A device that receives the message live acknowledges it
 * (`delivered`/`read` frames), which deletes its job before it is due; only
 * devices that stayed silent — offline, or connected through a socket that
 * silently died — are pushed. Because jobs live in the database:
 * - a burst folds into one job (coalescing; the push carries the count);
 * - a push that is due survives a restart;
 * - on several nodes each job is claimed (leased) by exactly one of them.
 */

export interface PushLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PushMetrics {
  /** One push attempt finished with this outcome. */
  attempt(kind: PushRegistration['kind'], outcome: PushOutcome['status']): void;
}

export interface PushServiceOptions {
  senders: readonly PushSender[];
  /** How long a connected device has to acknowledge a message before it is pushed. */
  ackGraceMs: number;
  /** Least time between two pushes of one channel to one device (bursts fold into the next). */
  coalesceMs: number;
  /** Privacy mode: payloads carry no message text. */
  privacy: boolean;
  /** How long a push service keeps an undeliverable push, and how long Confab retries one. */
  ttlSeconds: number;
  /** How often a node looks for due jobs. */
  pollMs: number;
  /** Acknowledgements are merged and written at most this often. */
  flushMs: number;
  /** Jobs claimed per round. */
  batchSize?: number;
  /** How long a claimed job is reserved for this node; a node that dies mid-send frees it after this. */
  leaseMs?: number;
  now: () => number;
  log: PushLogger;
  metrics?: PushMetrics;
  /** Delay before retry n (n from 1); default exponential from 1 s to 15 min with jitter. */
  retryDelayMs?: (attempt: number) => number;
}

const DEFAULT_BATCH = 100;
const DEFAULT_LEASE_MS = 60_000;
const MAX_RETRY_DELAY_MS = 15 * 60_000;

function defaultRetryDelay(attempt: number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(attempt - 1, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class PushService {
  private readonly senders: Map<PushRegistration['kind'], PushSender>;
  private acks = new Map<string, DeliveredAck>();
  private ackTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly store: Store,
    private readonly opts: PushServiceOptions,
  ) {
    this.senders = new Map(opts.senders.map((s) => [s.kind, s]));
  }

  /** Whether any push service is configured; without one nothing is recorded at all. */
  get enabled(): boolean {
    return this.senders.size > 0;
  }

  supports(kind: PushRegistration['kind']): boolean {
    return this.senders.has(kind);
  }

  /** What appendMessages records for a commit at `at` (undefined: nothing). */
  policy(at: number): PushPolicy | undefined {
    return this.enabled ? { dueAt: at + this.opts.ackGraceMs, minIntervalMs: this.opts.coalesceMs } : undefined;
  }

  /** A device received (or read) a channel's messages up to `seq` live. */
  received(deviceId: string, channelId: string, seq: number): void {
    if (!this.enabled) return;
    const key = `${deviceId}\u0000${channelId}`;
    const ack = this.acks.get(key);
    if (ack) ack.seq = Math.max(ack.seq, seq);
    else this.acks.set(key, { deviceId, channelId, seq });
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      this.enqueueWrite(() => this.flushAcks());
    }, this.opts.flushMs);
  }

  /** Read watermarks moved (from ReceiptsService): a read clears the user's notifications elsewhere. */
  channelsRead(changes: readonly ReceiptChange[]): void {
    if (!this.enabled || changes.length === 0) return;
    const reads = changes.map((c) => ({ userId: c.userId, channelId: c.channelId, readSeq: c.readSeq }));
    const at = this.opts.now();
    this.enqueueWrite(() => this.store.pushChannelsRead(reads, at));
  }

  start(): void {
    if (!this.enabled || this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops claiming, lets the round in flight finish and writes pending acknowledgements. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    await this.round;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.enqueueWrite(() => this.flushAcks());
    await this.writing;
    await Promise.all([...this.senders.values()].map((s) => s.close()));
  }

  /** Claims and sends one round of due jobs; resolves with how many were claimed. */
  async runOnce(): Promise<number> {
    const now = this.opts.now();
    const batch = this.opts.batchSize ?? DEFAULT_BATCH;
    const jobs = await this.store.claimPushJobs(now, batch, now + (this.opts.leaseMs ?? DEFAULT_LEASE_MS));
    await Promise.all(jobs.map((job) => this.process(job)));
    return jobs.length;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.round = this.runOnce().then(
        // A full batch means more may be due: go again at once.
        (claimed) => this.schedule(claimed >= (this.opts.batchSize ?? DEFAULT_BATCH) ? 0 : this.opts.pollMs),
        (err) => {
          this.opts.log.error({ err }, 'push round failed');
          this.schedule(this.opts.pollMs);
        },
      );
    }, delayMs);
    this.pollTimer.unref();
  }

  private async process(job: PushJob): Promise<void> {
    try {
      await this.deliver(job);
    } catch (err) {
      // The lease expires and the job comes back; nothing is lost.
      this.opts.log.error({ err, deviceId: job.deviceId, channelId: job.channelId }, 'push job failed');
    }
  }

  private async deliver(job: PushJob): Promise<void> {
    const { store, opts } = this;
    const now = opts.now();
    const nextDueAt = now + opts.coalesceMs;
    const sender = job.registration ? this.senders.get(job.registration.kind) : undefined;
    const payload = sender ? await this.payloadFor(job, now) : null;
    if (!sender || !job.registration || !payload) {
      await store.settlePushJob(job, { kind: 'done', nextDueAt });
      return;
    }
    const ageSeconds = (now - job.createdAt) / 1000;
    const ttlSeconds = Math.max(0, Math.floor(opts.ttlSeconds - ageSeconds));
    const outcome = await sender.send(job.registration, payload, { ttlSeconds, collapseKey: job.channelId });
    opts.metrics?.attempt(sender.kind, outcome.status);

    switch (outcome.status) {
      case 'sent': {
        // The coalescing window runs from when the push service took it.
        const sentAt = opts.now();
        const next = sentAt + opts.coalesceMs;
        await store.settlePushJob(job, payload.type === 'message' ? { kind: 'notified', at: sentAt, nextDueAt: next } : { kind: 'done', nextDueAt: next });
        return;
      }
      case 'gone':
        // The registration is dead; removing it also removes the device's jobs.
        await store.deletePushRegistration(job.deviceId, job.registration);
        opts.log.info({ deviceId: job.deviceId, kind: sender.kind }, 'push registration gone; removed');
        return;
      case 'retry': {
        const attempt = job.attempts + 1;
        const delay = Math.max(outcome.afterMs ?? 0, (opts.retryDelayMs ?? defaultRetryDelay)(attempt));
        if ((now + delay - job.createdAt) / 1000 > opts.ttlSeconds) {
          opts.log.warn({ deviceId: job.deviceId, kind: sender.kind, reason: outcome.reason, attempts: attempt }, 'push expired before it could be delivered');
          await store.settlePushJob(job, { kind: 'done', nextDueAt });
          return;
        }
        await store.settlePushJob(job, { kind: 'retry', dueAt: now + delay });
        return;
      }
      case 'rejected':
        opts.log.warn({ deviceId: job.deviceId, kind: sender.kind, reason: outcome.reason }, 'push rejected by the push service');
        await store.settlePushJob(job, { kind: 'done', nextDueAt });
        return;
    }
  }

  /**
   * What to push for a job, decided at send time from current state (the
   * member may have muted, left or read the channel since the commit); null
   * when nothing should be pushed.
   */
  private async payloadFor(job: PushJob, now: number): Promise<PushPayload | null> {
    const { store } = this;
    // A read covers at least the newest message this job knew of.
    const readPush: PushPayload | null = job.notifiedSeq > 0 ? { type: 'read', channelId: job.channelId, seq: job.lastSeq } : null;
    if (job.count === 0) return readPush;
    const member = await store.getMember(job.channelId, job.userId);
    // Removed since: no preview of a channel they can no longer read.
    if (!member || member.leftSeq !== null) return null;
    if (member.mutedUntil !== null && member.mutedUntil > now) return null;
    if (member.readSeq >= job.lastSeq) return readPush;

    const [channel, page] = await Promise.all([
      store.getChannel(job.channelId),
      store.getMessages(job.channelId, { after: job.lastSeq - 1, limit: 1 }),
    ]);
    const message = page.messages[0];
    if (!channel || !message) return null;
    const sender = await store.getUser(message.senderId);
    const payload: PushPayload = {
      type: 'message',
      channelId: job.channelId,
      count: job.count,
      seq: job.lastSeq,
      senderId: message.senderId,
      senderName: sender?.displayName ?? '',
      channelName: channel.kind === 'group' ? channel.name : null,
    };
    if (!this.opts.privacy) payload.preview = previewOf(message.text);
    return payload;
  }

  private async flushAcks(): Promise<void> {
    if (this.acks.size === 0) return;
    const acks = [...this.acks.values()];
    this.acks = new Map();
    await this.store.clearPushJobs(acks);
  }

  /** Acknowledgement and read writes run one after another; a failure only means a push may still go out. */
  private enqueueWrite(write: () => Promise<void>): void {
    this.writing = this.writing.then(write).catch((err) => this.opts.log.error({ err }, 'push bookkeeping write failed'));
  }
}
