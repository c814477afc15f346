import { describe, expect, it } from 'vitest';
import type { AppendBatchResult, AppendRequest, Store } from '../store/store.js';
import { SendBatcher } from './send-batcher.js';

/** A store that records batch boundaries; only appendMessages is used by the batcher. */
function recordingStore(opts: { fail?: boolean; delayMs?: number } = {}) {
  const batches: AppendRequest[][] = [];
  let seq = 0;
  const store = {
    async appendMessages(requests: readonly AppendRequest[], at: number): Promise<AppendBatchResult> {
      batches.push([...requests]);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.fail) throw new Error('disk on fire');
      return {
        results: requests.map((r) => ({ ok: true as const, duplicate: false, message: { channelId: r.channelId, seq: ++seq, senderId: r.senderId, clientId: r.clientId, kind: 'text' as const, text: r.text, createdAt: at } })),
        recipients: new Map(),
      };
    },
  } as unknown as Store;
  return { store, batches };
}

const req = (i: number): AppendRequest => ({ channelId: 'c', senderId: 'u', senderDeviceId: 'd', clientId: `m${i}`, text: `t${i}` });

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
});
