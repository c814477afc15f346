import { describe, expect, it } from 'vitest';
import { committedStatus, raiseWatermark } from './receipts.js';

describe('committedStatus', () => {
  it('is sent until the other member received it, then delivered, then read', () => {
    expect(committedStatus(5, ['u_b'], { u_b: { deliveredSeq: 4, readSeq: 3 } })).toBe('sent');
    expect(committedStatus(5, ['u_b'], { u_b: { deliveredSeq: 5, readSeq: 3 } })).toBe('delivered');
    expect(committedStatus(5, ['u_b'], { u_b: { deliveredSeq: 9, readSeq: 5 } })).toBe('read');
  });

  it('counts reading as delivery even without a delivered receipt', () => {
    expect(committedStatus(5, ['u_b'], { u_b: { deliveredSeq: 0, readSeq: 7 } })).toBe('read');
  });

  it('in a group, needs every other member', () => {
    const others = ['u_b', 'u_c'];
    expect(committedStatus(3, others, { u_b: { deliveredSeq: 3, readSeq: 3 }, u_c: { deliveredSeq: 2, readSeq: 2 } })).toBe('sent');
    expect(committedStatus(3, others, { u_b: { deliveredSeq: 3, readSeq: 3 }, u_c: { deliveredSeq: 3, readSeq: 2 } })).toBe('delivered');
    expect(committedStatus(3, others, { u_b: { deliveredSeq: 3, readSeq: 3 }, u_c: { deliveredSeq: 3, readSeq: 4 } })).toBe('read');
  });

  it('stays sent while a member has no known watermark, or when nobody else is there', () => {
    expect(committedStatus(3, ['u_b', 'u_c'], { u_b: { deliveredSeq: 3, readSeq: 3 } })).toBe('sent');
    expect(committedStatus(3, [], {})).toBe('sent');
  });
});

describe('raiseWatermark', () => {
  it('only moves forward', () => {
    const w = { deliveredSeq: 5, readSeq: 4 };
    expect(raiseWatermark(w, { deliveredSeq: 3, readSeq: 2 })).toBe(w);
    expect(raiseWatermark(w, { deliveredSeq: 6, readSeq: 4 })).toEqual({ deliveredSeq: 6, readSeq: 4 });
    expect(raiseWatermark(w, { deliveredSeq: 1, readSeq: 8 })).toEqual({ deliveredSeq: 8, readSeq: 8 });
    expect(raiseWatermark(undefined, { deliveredSeq: 1, readSeq: 2 })).toEqual({ deliveredSeq: 2, readSeq: 2 });
  });
});
