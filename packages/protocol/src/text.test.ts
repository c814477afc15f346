import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CODE_POINTS } from './limits.js';
import { checkMessageText, countCodePoints } from './text.js';

describe('message text rules', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(countCodePoints('abc')).toBe(3);
    expect(countCodePoints('😀')).toBe(1);
    expect(countCodePoints('a😀b')).toBe(3);
    expect(countCodePoints('\ud800')).toBe(1);
  });

  it('agrees with the string iterator on any well-formed text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => countCodePoints(s) === [...s].length));
  });

  it('accepts 1..100,000 code points and refuses the rest', () => {
    expect(checkMessageText('x')).toBeNull();
    expect(checkMessageText('x'.repeat(MAX_MESSAGE_CODE_POINTS))).toBeNull();
    expect(checkMessageText('😀'.repeat(MAX_MESSAGE_CODE_POINTS))).toBeNull();
    expect(checkMessageText('x'.repeat(MAX_MESSAGE_CODE_POINTS + 1))).toBe('message_too_long');
    expect(checkMessageText('😀'.repeat(MAX_MESSAGE_CODE_POINTS + 1))).toBe('message_too_long');
    expect(checkMessageText('')).toBe('message_empty');
    expect(checkMessageText(5)).toBe('bad_request');
  });

  it('refuses U+0000 and lone surrogates', () => {
    expect(checkMessageText('a\u0000')).toBe('invalid_text');
    expect(checkMessageText('a\ud800b')).toBe('invalid_text');
    expect(checkMessageText('\udc00')).toBe('invalid_text');
    expect(checkMessageText('\ud83d\ude00')).toBeNull();
  });
});
