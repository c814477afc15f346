import type { ChannelSummary, Message, SyncEntry, SyncResponse } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { FakeHistory, msg } from '../test/support.js';
import { ChannelStreams } from './channel-stream.js';
import { ConfabError } from './errors.js';
import { SyncEngine, type SyncApi } from './sync.js';

function entry(channelId: string, lastSeq: number, over: Partial<SyncEntry> = {}): SyncEntry {
  return { channelId, lastSeq, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null, ...over };
}

function summary(id: string, lastSeq: number): ChannelSummary {
  return { id, kind: 'group', name: id, createdAt: 0, memberCount: 2, lastSeq, lastMessage: null, role: 'member', joinedSeq: 1, readSeq: 0, unreadCount: 0, left: false, mutedUntil: null };
}

/** Sync pages keyed by the cursor they answer ('' = no cursor). */
class FakeSyncApi implements SyncApi {
  readonly calls: (string | undefined)[] = [];
  pages = new Map<string, SyncResponse | (() => Promise<SyncResponse>)>();
  list: ChannelSummary[] = [];
  async sync(q: { cursor?: string }): Promise<SyncResponse> {
    this.calls.push(q.cursor);
    const page = this.pages.get(q.cursor ?? '');
    if (!page) throw new ConfabError('bad_request', 'unknown cursor');
    return typeof page === 'function' ? page() : page;
  }
  async channels(): Promise<ChannelSummary[]> {
    this.calls.push('channels');
    return this.list;
  }
}

function setup(cursor: string | null) {
  const history = new FakeHistory();
  const api = new FakeSyncApi();
  const emitted: Message[] = [];
  const entries: SyncEntry[] = [];
  const cursors: (string | null)[] = [];
  const streams = new ChannelStreams({ fetchAfter: history.fetchAfter, emit: (m) => emitted.push(m) });
  const engine = new SyncEngine({ api, streams, cursor, onEntry: (e) => entries.push(e), onCursor: (c) => cursors.push(c) });
  const seqs = (ch: string) => emitted.filter((m) => m.channelId === ch).map((m) => m.seq);
  return { history, api, emitted, entries, cursors, streams, engine, seqs };
}

describe('SyncEngine', () => {
  it('bootstraps a fresh device: head cursor, then current lastSeq of every channel, no replay', async () => {
    const t = setup(null);
    t.api.pages.set('', { cursor: 'h1', hasMore: false, channels: [] });
    t.api.list = [summary('a', 40), summary('b', 0)];
    await t.engine.request();
    expect(t.api.calls).toEqual([undefined, 'channels']);
    expect(t.engine.cursor).toBe('h1');
    expect(t.streams.snapshot()).toEqual({ a: 40, b: 0 });
    expect(t.emitted).toEqual([]);
    expect(t.cursors).toEqual(['h1']);
  });

  it('pages through entries, fetches from have (or joinedSeq - 1) to lastSeq, and moves the cursor per page', async () => {
    const t = setup('c0');
    t.history.fill('a', 6).fill('b', 12);
    t.streams.setHave('a', 4);
    t.api.pages.set('c0', { cursor: 'c1', hasMore: true, channels: [entry('a', 6, { readSeq: 5 })] });
    t.api.pages.set('c1', { cursor: 'c2', hasMore: false, channels: [entry('b', 12, { joinedSeq: 10, left: true })] });
    await t.engine.request();
    expect(t.seqs('a')).toEqual([5, 6]);
    expect(t.seqs('b')).toEqual([10, 11, 12]);
    expect(t.history.calls).toEqual([
      { channelId: 'a', after: 4, limit: 2 },
      { channelId: 'b', after: 9, limit: 3 },
    ]);
    expect(t.entries.map((e) => [e.channelId, e.readSeq, e.left])).toEqual([
      ['a', 5, false],
      ['b', 0, true],
    ]);
    expect(t.cursors).toEqual(['c1', 'c2']);
    expect(t.engine.cursor).toBe('c2');
  });

  it('does not move the cursor past a page whose processing failed', async () => {
    const t = setup('c0');
    t.history.fill('a', 2); // but the entry claims 5: history cannot satisfy it
    t.streams.setHave('a', 0);
    t.api.pages.set('c0', { cursor: 'c1', hasMore: false, channels: [entry('a', 5)] });
    await expect(t.engine.request()).rejects.toThrow();
    expect(t.engine.cursor).toBe('c0');
    expect(t.seqs('a')).toEqual([1, 2]);
  });

  it('runs once more when requested during a run, never two at a time', async () => {
    const t = setup('c0');
    let release!: () => void;
    let active = 0;
    let maxActive = 0;
    t.api.pages.set('c0', () => {
      active++;
      maxActive = Math.max(maxActive, active);
      return new Promise<SyncResponse>((resolve) => {
        release = () => {
          active--;
          resolve({ cursor: 'c1', hasMore: false, channels: [] });
        };
      });
    });
    t.api.pages.set('c1', async () => ({ cursor: 'c1', hasMore: false, channels: [] }));
    const first = t.engine.request();
    const second = t.engine.request();
    const third = t.engine.request();
    expect(second).toBe(first);
    expect(third).toBe(first);
    release();
    await first;
    expect(t.api.calls).toEqual(['c0', 'c1']);
    expect(maxActive).toBe(1);
    expect(t.engine.running).toBe(false);
  });

  it('reconciles live messages buffered during the sync', async () => {
    const t = setup('c0');
    t.history.fill('a', 7);
    t.streams.setHave('a', 2);
    t.api.pages.set('c0', async () => {
      // Live messages arrive while the sync is in flight: 3 (also in the sync range) and 7 (beyond it).
      t.streams.receive(msg('a', 7));
      t.streams.receive(msg('a', 3));
      return { cursor: 'c1', hasMore: false, channels: [entry('a', 5)] };
    });
    await t.engine.request();
    expect(t.seqs('a')).toEqual([3, 4, 5, 6, 7]);
  });

  it('explains an unknown channel by the next sync, and adopts it if that sync does not', async () => {
    const t = setup('c0');
    t.history.fill('new', 2);
    t.api.pages.set('c0', { cursor: 'c1', hasMore: false, channels: [entry('new', 2)] });
    t.streams.receive(msg('new', 2));
    t.engine.noteUnknown('new');
    await t.engine.request();
    expect(t.seqs('new')).toEqual([1, 2]);

    t.api.pages.set('c1', { cursor: 'c2', hasMore: false, channels: [] });
    t.streams.receive(msg('ghost', 5));
    t.engine.noteUnknown('ghost');
    await t.engine.request();
    expect(t.seqs('ghost')).toEqual([5]);
  });

  it('starts over as a fresh device when the server refuses the cursor', async () => {
    const t = setup('stale');
    t.streams.setHave('a', 999);
    t.api.pages.set('', { cursor: 'h', hasMore: false, channels: [] });
    t.api.list = [summary('a', 3)];
    await t.engine.request();
    expect(t.engine.cursor).toBe('h');
    expect(t.streams.snapshot()).toEqual({ a: 3 });
  });

  it('skips a channel whose history is no longer readable', async () => {
    const t = setup('c0');
    const skipped: string[] = [];
    const streams = new ChannelStreams({
      fetchAfter: async () => {
        throw new ConfabError('not_member');
      },
      emit: () => {},
    });
    const engine = new SyncEngine({ api: t.api, streams, cursor: 'c0', onSkip: (_e, en) => skipped.push(en.channelId) });
    t.api.pages.set('c0', { cursor: 'c1', hasMore: false, channels: [entry('gone', 4)] });
    await engine.request();
    expect(skipped).toEqual(['gone']);
    expect(engine.cursor).toBe('c1');
  });
});
