import type { Message } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { FakeHistory, msg } from '../test/support.js';
import { ChannelStreams } from './channel-stream.js';

function setup(history = new FakeHistory()) {
  const emitted: Message[] = [];
  const errors: unknown[] = [];
  const streams = new ChannelStreams({
    fetchAfter: history.fetchAfter,
    emit: (m) => emitted.push(m),
    onFillError: (err) => errors.push(err),
  });
  const seqs = (channelId = 'c1') => emitted.filter((m) => m.channelId === channelId).map((m) => m.seq);
  return { streams, emitted, errors, history, seqs };
}

describe('ChannelStreams', () => {
  it('emits contiguous live messages and drops duplicates', () => {
    const { streams, seqs } = setup();
    streams.setHave('c1', 0);
    expect(streams.receive(msg('c1', 1))).toBe('emitted');
    expect(streams.receive(msg('c1', 2))).toBe('emitted');
    expect(streams.receive(msg('c1', 2))).toBe('duplicate');
    expect(streams.receive(msg('c1', 1))).toBe('duplicate');
    expect(seqs()).toEqual([1, 2]);
    expect(streams.haveOf('c1')).toBe(2);
  });

  it('reorders out-of-order live messages that together close the gap, without fetching', async () => {
    const { streams, seqs, history } = setup();
    streams.setHave('c1', 5);
    streams.hold(); // no background fill, so only the buffer is exercised
    expect(streams.receive(msg('c1', 8))).toBe('buffered');
    expect(streams.receive(msg('c1', 7))).toBe('buffered');
    expect(streams.receive(msg('c1', 8))).toBe('duplicate');
    expect(seqs()).toEqual([]);
    expect(streams.receive(msg('c1', 6))).toBe('emitted');
    expect(seqs()).toEqual([6, 7, 8]);
    expect(streams.channelsWithPending()).toEqual([]);
    expect(history.calls).toEqual([]);
  });

  it('fills a gap from history and emits everything in order exactly once', async () => {
    const history = new FakeHistory().fill('c1', 10);
    const { streams, seqs } = setup(history);
    streams.setHave('c1', 2);
    expect(streams.receive(msg('c1', 9))).toBe('buffered');
    expect(streams.receive(msg('c1', 10))).toBe('buffered');
    await streams.settled();
    expect(seqs()).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    // It asked only for the missing range, once.
    expect(history.calls).toEqual([{ channelId: 'c1', after: 2, limit: 6 }]);
  });

  it('pages through a gap larger than a history page', async () => {
    const history = new FakeHistory().fill('c1', 450);
    const { streams, seqs } = setup(history);
    streams.setHave('c1', 0);
    streams.receive(msg('c1', 450));
    await streams.settled();
    expect(seqs()).toEqual(Array.from({ length: 450 }, (_, i) => i + 1));
    expect(history.calls.map((c) => [c.after, c.limit])).toEqual([
      [0, 200],
      [200, 200],
      [400, 49],
    ]);
  });

  it('keeps a single fill per channel while more live messages arrive', async () => {
    const history = new FakeHistory().fill('c1', 20);
    const { streams, seqs } = setup(history);
    streams.setHave('c1', 0);
    streams.receive(msg('c1', 5));
    streams.receive(msg('c1', 12)); // arrives while the first fill is in flight
    streams.receive(msg('c1', 6));
    await streams.settled();
    expect(seqs()).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(history.calls.length).toBe(2);
  });

  it('buffers messages of an unknown channel until it is tracked', () => {
    const { streams, seqs } = setup();
    expect(streams.receive(msg('c9', 4))).toBe('unknown');
    expect(streams.receive(msg('c9', 3))).toBe('unknown');
    expect(seqs('c9')).toEqual([]);
    streams.setHave('c9', 2);
    expect(seqs('c9')).toEqual([3, 4]);
  });

  it('adopts an unexplained channel just before its lowest buffered message', () => {
    const { streams, seqs } = setup();
    streams.receive(msg('c9', 7));
    streams.receive(msg('c9', 8));
    streams.adopt('c9');
    expect(seqs('c9')).toEqual([7, 8]);
    expect(streams.haveOf('c9')).toBe(8);
  });

  it('catchUp fetches up to lastSeq, coexisting with live messages', async () => {
    const history = new FakeHistory().fill('c1', 8);
    const { streams, seqs } = setup(history);
    streams.setHave('c1', 3);
    streams.hold();
    streams.receive(msg('c1', 9)); // live, beyond what the sync knows about
    await streams.catchUp('c1', 8);
    expect(seqs()).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('catchUp fails instead of looping when history makes no progress', async () => {
    const history = new FakeHistory().fill('c1', 3);
    const { streams } = setup(history);
    streams.setHave('c1', 3);
    await expect(streams.catchUp('c1', 5)).rejects.toThrow(/returned nothing new/);
  });

  it('reports a failed fill and keeps the buffer for a later retry', async () => {
    let fail = true;
    const history = new FakeHistory().fill('c1', 4);
    const emitted: number[] = [];
    const errors: unknown[] = [];
    const streams = new ChannelStreams({
      fetchAfter: (ch, after, limit) => (fail ? Promise.reject(new Error('offline')) : history.fetchAfter(ch, after, limit)),
      emit: (m) => emitted.push(m.seq),
      onFillError: (err) => errors.push(err),
    });
    streams.setHave('c1', 1);
    streams.receive(msg('c1', 4));
    await streams.settled();
    expect(errors).toHaveLength(1);
    expect(emitted).toEqual([]);
    fail = false;
    await streams.reconcile();
    expect(emitted).toEqual([2, 3, 4]);
  });

  it('emits nothing after stop', async () => {
    const history = new FakeHistory().fill('c1', 5);
    const { streams, seqs } = setup(history);
    streams.setHave('c1', 0);
    streams.receive(msg('c1', 5));
    streams.stop();
    await streams.settled();
    expect(streams.receive(msg('c1', 1))).toBe('duplicate');
    expect(seqs()).toEqual([]);
    expect(streams.haveOf('c1')).toBe(0);
  });

  it('snapshot is plain JSON of have', () => {
    const { streams } = setup();
    streams.setHave('a', 3);
    streams.setHave('b', 0);
    streams.setHave('a', 1); // never moves backwards
    expect(JSON.parse(JSON.stringify(streams.snapshot()))).toEqual({ a: 3, b: 0 });
  });
});
