import { describe, expect, it } from 'vitest';
import type { AppendBatchResult, AppendRequest, Store } from '../store/store.js';
import { SendBatcher } from './send-batcher.js';

/** A store that records batch boundaries; only appendMessages is used by the batcher. */
function recordingStore(opts: { fail?: boolean | (() => boolean); delayMs?: number } = {}) {
  const batches: AppendRequest[][] = [];
  let seq = 0;
  const store = {
    async appendMessages(requests: readonly AppendRequest[], at: number): Promise<AppendBatchResult> {
      batches.push([...requests]);
      const failing = typeof opts.fail === 'function' ? opts.fail() : opts.fail;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (failing) throw new Error('disk on fire');
      return {
        results: requests.map((r) => ({ ok: true as const, duplicate: false, message: { channelId: r.channelId, seq: ++seq, senderId: r.senderId, clientId: r.clientId, kind: 'text' as const, text: r.text, createdAt: at } })),
        recipients: new Map(),
      };
    },
  } as unknown as Store;
  return { store, batches };
}

const req = (i: number, device = 'd'): AppendRequest => ({ channelId: 'c', senderId: 'u', senderDeviceId: device, clientId: `m${i}`, text: `t${i}` });
const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? 'error');

describe('SendBatcher (group commit)', () => {
  it('commits sends that arrive together in one batch, in arrival order', async () => {
    const { store, batches } = recordingStore();
    const committed: number[][] = [];
    const b = new SendBatcher(store, { maxBatch: 100, now: () => 1, onCommitted: (_r, res) => committed.push(res.results.map((x) => (x.ok ? x.message.seq : -1))) });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => b.submit(req(i))));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((r) => r.clientId)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(results.map((r) => r.ok && r.message.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(committed).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('splits at maxBatch and runs one commit at a time, queueing sends that arrive meanwhile', async () => {
    const { store, batches } = recordingStore({ delayMs: 20 });
    const b = new SendBatcher(store, { maxBatch: 3, now: () => 1, onCommitted: () => {} });
    const first = [1, 2, 3, 4].map((i) => b.submit(req(i)));
    await new Promise((r) => setTimeout(r, 5));
    const later = [5, 6].map((i) => b.submit(req(i)));
    await Promise.all([...first, ...later]);
    expect(batches.map((x) => x.map((r) => r.clientId))).toEqual([['m1', 'm2', 'm3'], ['m4', 'm5', 'm6']]);
    await b.drained();
  });

  it('refuses the whole batch as retryable when the store fails', async () => {
    const { store } = recordingStore({ fail: true });
    const b = new SendBatcher(store, { maxBatch: 10, now: () => 1, onCommitted: () => {} });
    const outcomes = await Promise.allSettled([b.submit(req(1)), b.submit(req(2))]);
    for (const o of outcomes) expect(o).toMatchObject({ status: 'rejected', reason: { code: 'unavailable' } });
  });

  it('keeps a device\'s order across a failed commit: its sends queued behind or sent after are refused until it resends the refused ones', async () => {
    let down = true;
    const { store, batches } = recordingStore({ fail: () => down, delayMs: 10 });
    let clock = 1;
    const b = new SendBatcher(store, { maxBatch: 1, now: () => clock, onCommitted: () => {} });
    // m1 fails; m2 (same device) was queued behind it; x1 (another device) was too.
    const first = [b.submit(req(1)), b.submit(req(2)), b.submit(req(1, 'other'))].map(outcome);
    await new Promise((r) => setTimeout(r, 5));
    down = false;
    expect(await Promise.all(first)).toEqual(['unavailable', 'unavailable', 'ok']);
    // m3 was written before the device learned of the refusals: it must not overtake m1 and m2.
    expect(await outcome(b.submit(req(3)))).toBe('unavailable');
    // The retry resends everything refused, oldest first; then the device is free again.
    expect(await Promise.all([1, 2, 3].map((i) => outcome(b.submit(req(i)))))).toEqual(['ok', 'ok', 'ok']);
    expect(await outcome(b.submit(req(4)))).toBe('ok');
    const committed = batches.slice(1).flat().filter((r) => r.senderDeviceId === 'd');
    expect(committed.map((r) => r.clientId)).toEqual(['m1', 'm2', 'm3', 'm4']);
    // A device that never resends is let go after a minute.
    down = true;
    expect(await outcome(b.submit(req(5)))).toBe('unavailable');
    down = false;
    expect(await outcome(b.submit(req(6)))).toBe('unavailable');
    clock += 60_000;
    expect(await outcome(b.submit(req(7)))).toBe('ok');
  });
});
