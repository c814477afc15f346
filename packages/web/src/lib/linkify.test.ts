import { describe, expect, it } from 'vitest';
import { linkify, type TextSegment } from './linkify.js';

const joined = (segments: TextSegment[]) => segments.map((s) => s.text).join('');
const links = (text: string) => linkify(text).flatMap((s) => (s.kind === 'link' ? [s.href] : []));

describe('linkify', () => {
  it('keeps plain text as one segment', () => {
    expect(linkify('hello there')).toEqual([{ kind: 'text', text: 'hello there' }]);
    expect(linkify('')).toEqual([]);
  });

  it('turns http and https URLs into links, keeping query strings', () => {
    expect(linkify('see https://example.org/a?b=1 and http://x.io')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://x.io', href: 'http://x.io' },
    ]);
  });

  it('never links other schemes', () => {
    expect(links('javascript:alert(1) data:text/html,<b> ftp://x.org mailto:a@b.c')).toEqual([]);
  });

  it('leaves sentence punctuation and unbalanced brackets outside the link', () => {
    expect(links('Look: https://example.org/page.')).toEqual(['https://example.org/page']);
    expect(links('(see https://example.org/x)')).toEqual(['https://example.org/x']);
    expect(links('https://en.wikipedia.org/wiki/Foo_(bar)')).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)']);
    expect(links('"https://example.org/q"')).toEqual(['https://example.org/q']);
  });

  it('stops at angle brackets, so HTML around a URL stays text', () => {
    const text = '<a href="https://evil.example/x">https://ok.example/y</a>';
    expect(links(text)).toEqual(['https://evil.example/x', 'https://ok.example/y']);
    expect(joined(linkify(text))).toBe(text);
  });

  it('ignores a bare scheme', () => {
    expect(links('https:// nothing')).toEqual([]);
  });

  it('loses no character: the segments always spell the original text', () => {
    const samples = ['a https://x.org b', 'https://x.org', 'x\nhttps://a.b/c?d=e#f\n\ty', '🎲 https://x.org/🎲 🎲', 'https://a.b).'];
    for (const s of samples) expect(joined(linkify(s))).toBe(s);
  });

  it('handles a 100,000-character message quickly', () => {
    const text = `${'word '.repeat(19_990)}https://example.org/end`;
    const started = performance.now();
    const segments = linkify(text);
    expect(performance.now() - started).toBeLessThan(200);
    expect(joined(segments)).toBe(text);
    expect(segments.at(-1)).toEqual({ kind: 'link', text: 'https://example.org/end', href: 'https://example.org/end' });
  });
});
