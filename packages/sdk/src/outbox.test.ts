import { describe, expect, it } from 'vitest';
import { ConfabError } from './errors.js';
import { Outbox } from './outbox.js';

function ack(id: string, seq: number, duplicate = false) {
  return { id, channelId: 'c1', seq, createdAt: 1000 + seq, duplicate };
}

describe('Outbox', () => {
  it('keeps sends in order and resolves them on ack', async () => {
    const box = new Outbox();
    const a = box.add('a', 'c1', 'one');
    const b = box.add('b', 'c1', 'two');
    expect(box.all().map((e) => e.clientId)).toEqual(['a', 'b']);
    expect(box.ack(ack('b', 2))).toBe(true);
    expect(box.ack(ack('a', 1))).toBe(true);
    await expect(a.promise).resolves.toEqual({ channelId: 'c1', seq: 1, createdAt: 1001, duplicate: false, clientId: 'a' });
    await expect(b.promise).resolves.toMatchObject({ seq: 2, clientId: 'b' });
    expect(box.size).toBe(0);
    expect(box.ack(ack('a', 1, true))).toBe(false);
  });

  it('lists every unacknowledged send for resend in original order after a drop', () => {
    const box = new Outbox();
    for (const id of ['a', 'b', 'c', 'd']) box.add(id, 'c1', id).entry.sent = true;
    box.ack(ack('b', 1));
    expect(box.unsent()).toEqual([]);
    box.markAllUnsent();
    expect(box.unsent().map((e) => [e.clientId, e.text])).toEqual([
      ['a', 'a'],
      ['c', 'c'],
      ['d', 'd'],
    ]);
  });

  it('returns the pending promise for a repeated client id', () => {
    const box = new Outbox();
    const first = box.add('a', 'c1', 'x');
    const second = box.add('a', 'c1', 'x');
    expect(second.added).toBe(false);
    expect(second.promise).toBe(first.promise);
    expect(box.size).toBe(1);
  });

  it('rejects on a permanent error and keeps a retryable one for later', async () => {
    const box = new Outbox();
    const a = box.add('a', 'c1', 'x');
    const b = box.add('b', 'c1', 'y');
    b.entry.sent = true;
    expect(box.fail('a', new ConfabError('not_member'))).toBe('rejected');
    await expect(a.promise).rejects.toMatchObject({ code: 'not_member', retryable: false, status: 403 });
    expect(box.fail('b', new ConfabError('rate_limited'))).toBe('retry');
    expect(box.unsent().map((e) => e.clientId)).toEqual(['b']);
    expect(box.fail('zzz', new ConfabError('internal'))).toBe('unknown');
    box.ack(ack('b', 9));
    await expect(b.promise).resolves.toMatchObject({ seq: 9 });
  });

  it('rejectAll rejects everything pending', async () => {
    const box = new Outbox();
    const a = box.add('a', 'c1', 'x');
    const b = box.add('b', 'c2', 'y');
    box.rejectAll(new ConfabError('closed'));
    await expect(a.promise).rejects.toMatchObject({ code: 'closed' });
    await expect(b.promise).rejects.toMatchObject({ code: 'closed' });
    expect(box.size).toBe(0);
  });
});
