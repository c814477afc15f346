import { describe, expect, it } from 'vitest';
import { notificationText, parseRetryAfter, previewOf } from './push-format.js';

describe('previewOf', () => {
  it('keeps short texts, folding whitespace', () => {
    expect(previewOf('hello')).toBe('hello');
    expect(previewOf('  line one\n\n line\ttwo  ')).toBe('line one line two');
  });

  it('cuts long texts at a grapheme boundary with an ellipsis', () => {
    expect(previewOf('abcdefghij', 4)).toBe('abcd…');
    // A family emoji (one cluster of 11 UTF-16 units) and flags are never split.
    const family = '👨‍👩‍👧‍👦';
    expect(previewOf(`${family}${family}${family}`, 2)).toBe(`${family}${family}…`);
    expect(previewOf('🇫🇷🇩🇪🇮🇹', 1)).toBe('🇫🇷…');
    expect(previewOf('e\u0301e\u0301e\u0301', 2)).toBe('e\u0301e\u0301…');
  });

  it('reads only the start of a 100,000-character text', () => {
    const long = 'x'.repeat(100_000);
    const preview = previewOf(long);
    expect([...preview]).toHaveLength(121);
    expect(preview.endsWith('…')).toBe(true);
    expect(previewOf(`${' '.repeat(2_000)}tail`, 10)).toBe('tail');
  });
});

describe('notificationText', () => {
  it('titles a group by its name and prefixes the sender', () => {
    expect(notificationText({ type: 'message', channelId: 'c', senderName: 'Ana', channelName: 'Hikers', preview: 'hi' })).toEqual({ title: 'Hikers', body: 'Ana: hi' });
  });

  it('titles a direct chat by the sender, and counts without a preview', () => {
    expect(notificationText({ type: 'message', channelId: 'c', senderName: 'Ana', channelName: null, preview: 'hi' })).toEqual({ title: 'Ana', body: 'hi' });
    expect(notificationText({ type: 'message', channelId: 'c', senderName: 'Ana', channelName: null, count: 3 })).toEqual({ title: 'Ana', body: '3 new messages' });
    expect(notificationText({ type: 'message', channelId: 'c', count: 1 })).toEqual({ title: 'New message', body: 'New message' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(1_000_000 + 5_000).toUTCString(), 1_000_000)).toBe(5000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
