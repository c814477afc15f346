export type Listener<T> = (payload: T) => void;

interface Entry {
  fn: Listener<never>;
  once: boolean;
}

/**
 * A minimal typed event emitter that runs everywhere (no Node EventEmitter).
 * A throwing listener must not break the SDK's own bookkeeping (the code that
 * emits is usually mid-way through a sync), so listener errors are caught and
 * handed to `onListenerError` instead of propagating into the emitter.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Entry[]>();

  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void = rethrowLater) {}

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    this.add(event, { fn: listener, once: false });
    return () => this.off(event, listener);
  }

  /** Subscribes for the next emission only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    this.add(event, { fn: listener, once: true });
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.listeners.get(event);
    if (!list) return;
    const i = list.findIndex((e) => e.fn === listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    // A snapshot, so listeners that (un)subscribe during the emit do not skip or repeat others.
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.fn as Listener<Events[K]>);
      try {
        (entry.fn as Listener<Events[K]>)(payload);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  removeAllListeners(event?: keyof Events): void {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
  }

  private add(event: keyof Events, entry: Entry): void {
    const list = this.listeners.get(event);
    if (list) list.push(entry);
    else this.listeners.set(event, [entry]);
  }
}

/** Reports the error the way the platform reports uncaught errors, without unwinding our stack. */
export function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}
