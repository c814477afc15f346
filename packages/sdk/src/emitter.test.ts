import { describe, expect, it, vi } from 'vitest';
import { Emitter } from './emitter.js';

interface Events {
  num: number;
  text: { s: string };
  none: undefined;
}

describe('Emitter', () => {
  it('delivers typed payloads to listeners in subscription order', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    e.on('num', (n) => seen.push(`a${n}`));
    e.on('num', (n) => seen.push(`b${n}`));
    e.on('text', ({ s }) => seen.push(s));
    e.emit('num', 1);
    e.emit('text', { s: 'x' });
    e.emit('none', undefined);
    expect(seen).toEqual(['a1', 'b1', 'x']);
  });

  it('unsubscribes via the returned function and via off', () => {
    const e = new Emitter<Events>();
    const a = vi.fn();
    const b = vi.fn();
    const unsubscribe = e.on('num', a);
    e.on('num', b);
    e.emit('num', 1);
    unsubscribe();
    e.off('num', b);
    e.emit('num', 2);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
    expect(e.listenerCount('num')).toBe(0);
  });

  it('once fires a single time and can be cancelled', () => {
    const e = new Emitter<Events>();
    const a = vi.fn();
    const b = vi.fn();
    e.once('num', a);
    const cancel = e.once('num', b);
    cancel();
    e.emit('num', 1);
    e.emit('num', 2);
    expect(a).toHaveBeenCalledExactlyOnceWith(1);
    expect(b).not.toHaveBeenCalled();
  });

  it('isolates a throwing listener from the others and from the emitter', () => {
    const errors: unknown[] = [];
    const e = new Emitter<Events>((err, event) => errors.push([event, (err as Error).message]));
    const after = vi.fn();
    e.on('num', () => {
      throw new Error('boom');
    });
    e.on('num', after);
    expect(() => e.emit('num', 7)).not.toThrow();
    expect(after).toHaveBeenCalledWith(7);
    expect(errors).toEqual([['num', 'boom']]);
  });

  it('uses a snapshot, so subscribing during an emit does not affect that emit', () => {
    const e = new Emitter<Events>();
    const late = vi.fn();
    e.on('num', () => e.on('num', late));
    e.emit('num', 1);
    expect(late).not.toHaveBeenCalled();
    e.emit('num', 2);
    expect(late).toHaveBeenCalledWith(2);
  });
});
