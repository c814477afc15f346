import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame } from './frame-decoder.js';

describe('client frame decoder', () => {
  it('decodes each known frame', () => {
    expect(decodeClientFrame('{"type":"send","id":"a","channelId":"c_1","text":"hi"}')).toMatchObject({ ok: true, frame: { type: 'send' } });
    expect(decodeClientFrame('{"type":"read","channelId":"c_1","seq":3}')).toMatchObject({ ok: true });
    expect(decodeClientFrame('{"type":"delivered","channelId":"c_1","seq":0}')).toMatchObject({ ok: true });
    expect(decodeClientFrame('{"type":"typing","channelId":"c_1"}')).toMatchObject({ ok: true });
    expect(decodeClientFrame('{"type":"ping"}')).toMatchObject({ ok: true });
  });

  it('refuses extra keys, __proto__ included, wrong types and out-of-range numbers', () => {
    const bad = [
      '{"type":"ping","extra":1}',
      '{"type":"send","id":"a","channelId":"c","text":"x","__proto__":{"x":1}}',
      '{"type":"read","channelId":"c","seq":1.5}',
      '{"type":"read","channelId":"c","seq":-1}',
      '{"type":"read","channelId":"c","seq":1e300}',
      '{"type":"send","id":"has space","channelId":"c","text":"x"}',
      '{"type":"send","id":"","channelId":"c","text":"x"}',
    ];
    for (const input of bad) expect(decodeClientFrame(input), input).toMatchObject({ ok: false, code: 'bad_request' });
    expect(decodeClientFrame('{"type":"constructor"}')).toMatchObject({ ok: false, code: 'unknown_frame' });
    expect(decodeClientFrame('{"type":"toString"}')).toMatchObject({ ok: false, code: 'unknown_frame' });
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ type: 'send', id: v, channelId: v, text: v }))), (input) => {
        const result = decodeClientFrame(input);
        return typeof result.ok === 'boolean';
      }),
      { numRuns: 2_000 },
    );
  });
});
