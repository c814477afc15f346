import fc from 'fast-check';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import {
  ClientFrameSchemas,
  ERROR_CODES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_CODE_POINTS,
  countCodePoints,
  isErrorCode,
  type ClientFrame,
} from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import { AppError } from '../errors.js';
import { MessagesService } from '../messages/messages-service.js';
import type { Store } from '../store/store.js';
import type { Fanout } from './fanout.js';
import { decodeClientFrame, type Decoded } from './frame-decoder.js';

/*
 * Properties of the client frame decoder, the first code every byte a client
 * sends reaches. Valid frames are generated from the protocol's own schemas
 * (ClientFrameSchemas), so a frame type or field added there is covered here
 * without touching this file; a schema keyword this generator does not know
 * fails loudly instead of being skipped.
 */

type FrameType = keyof typeof ClientFrameSchemas;
const frameTypes = Object.keys(ClientFrameSchemas) as FrameType[];

interface FieldSchema {
  type?: string;
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  /** A record: keys matching the (single) pattern, values of its schema. */
  patternProperties?: Record<string, FieldSchema>;
  maxProperties?: number;
}
interface ObjectSchema {
  type: 'object';
  properties: Record<string, FieldSchema>;
  required?: string[];
}
const schemaOf = (type: FrameType) => ClientFrameSchemas[type] as unknown as ObjectSchema;
const checkers = Object.fromEntries(frameTypes.map((t) => [t, TypeCompiler.Compile(ClientFrameSchemas[t])])) as unknown as Record<FrameType, { Check(v: unknown): boolean }>;

// Any UTF-16 unit sequence a JS string can hold, lone surrogates included.
const anyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)) },
);

function stringFor(s: FieldSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? 200;
  // Schemas bound .length (UTF-16 units); a generated unit may be two of them.
  const fits = (v: string) => v.length >= min && v.length <= max;
  if (s.pattern !== undefined) return fc.stringMatching(new RegExp(s.pattern), { maxLength: max }).filter(fits);
  return fc.string({ unit: anyChar, minLength: min, maxLength: max }).filter(fits);
}

function valueFor(s: FieldSchema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  switch (s.type) {
    case 'string':
      return stringFor(s);
    case 'integer': {
      const min = s.minimum ?? Number.MIN_SAFE_INTEGER;
      const max = s.maximum ?? Number.MAX_SAFE_INTEGER;
      return fc.oneof(fc.constantFrom(min, max), fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number));
    }
    case 'number':
      // JSON has no NaN or Infinity and writes -0 as 0: those are not wire values.
      return fc
        .double({ noNaN: true, noDefaultInfinity: true, ...(s.minimum !== undefined && { min: s.minimum }), ...(s.maximum !== undefined && { max: s.maximum }) })
        .map((x) => (Object.is(x, -0) ? 0 : x));
    case 'object': {
      const [record] = Object.entries(s.patternProperties ?? {});
      if (!record) break;
      const [pattern, valueSchema] = record;
      const key = stringFor({ type: 'string', pattern, maxLength: 64 });
      // Small records mostly; sometimes the largest allowed.
      const max = s.maxProperties ?? 10;
      return fc
        .oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: Math.min(5, max) }) }, { weight: 1, arbitrary: fc.constant(max) })
        .chain((n) => fc.uniqueArray(fc.tuple(key, valueFor(valueSchema)), { minLength: n, maxLength: n, selector: ([k]) => k }))
        .map((entries) => Object.fromEntries(entries));
    }
  }
  throw new Error(`no generator for schema ${JSON.stringify(s)}: teach frame-decoder.property.test.ts this keyword`);
}

function frameOf(type: FrameType): fc.Arbitrary<ClientFrame> {
  const schema = schemaOf(type);
  if (schema.type !== 'object') throw new Error(`frame schema ${type} is not an object`);
  const model = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, valueFor(s)]));
  return fc.record(model, { requiredKeys: schema.required ?? [] }) as unknown as fc.Arbitrary<ClientFrame>;
}

const validFrame = fc.oneof(...frameTypes.map(frameOf));

/** A JSON object written by hand: keys like `__proto__` and repeated keys survive, values are raw JSON text. */
type Entries = [key: string, rawJson: string][];
const toText = (entries: Entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const entriesOf = (frame: ClientFrame): Entries => Object.entries(frame).map(([k, v]) => [k, JSON.stringify(v)]);

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const pollutionMarkers = ['polluted', 'seq', 'channelId', 'type', 'id', 'text', 'isAdmin'];

/** What every input must give: a valid frame, or a refusal the gateway can put on the wire as an error frame. */
function expectStructured(result: Decoded): void {
  if (result.ok) {
    expect(checkers[result.frame.type].Check(result.frame)).toBe(true);
    expect(Object.getPrototypeOf(result.frame)).toBe(Object.prototype);
    return;
  }
  expect(Object.keys(result).filter((k) => !['ok', 'code', 'message', 'id', 'ref'].includes(k))).toEqual([]);
  expect(isErrorCode(result.code)).toBe(true);
  expect(typeof ERROR_CODES[result.code].retryable).toBe('boolean');
  expect(typeof result.message).toBe('string');
  expect(result.message.length).toBeGreaterThan(0);
  for (const echoed of [result.id, result.ref]) {
    if (echoed === undefined) continue;
    expect(typeof echoed).toBe('string');
    expect(echoed.length).toBeLessThanOrEqual(64);
  }
  // The gateway sends this as an error frame: it must serialize.
  expect(() => JSON.stringify({ type: 'error', retryable: ERROR_CODES[result.code].retryable, ...result })).not.toThrow();
}

function expectNoPollution(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  const probe: Record<string, unknown> = {};
  for (const key of pollutionMarkers) expect(probe[key]).toBeUndefined();
}

/** Decodes as the gateway does, from the UTF-8 bytes of a WebSocket text frame. */
const decodeBytes = (bytes: Uint8Array) => decodeClientFrame(Buffer.from(bytes).toString());

const nonNumber = fc.oneof(
  fc.constantFrom('"1"', '"NaN"', '"Infinity"', '"-1"', 'null', 'true', 'false', '[]', '[1]', '{}', '{"valueOf":1}'),
  fc.string().map((s) => JSON.stringify(s)),
);
const nonString = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '-1', '1.5', '1e999', '[]', '["a"]', '{}', '{"toString":"x"}'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
);
// Numbers a seq field must refuse: negative, beyond 2^53, fractional, and what JSON.parse turns 1e999 into.
const badInteger = (s: FieldSchema) =>
  fc.oneof(
    fc.integer({ min: 1, max: 2 ** 31 }).map((n) => `-${n}`),
    fc.constantFrom('9007199254740992', '1e16', '1e300', '1e999', '-1e999', '123456789012345678901234567890', '-0.5', '0.5', '1.0000001'),
    fc.double({ min: 0, max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x)).map((x) => JSON.stringify(x)),
    fc.constant(JSON.stringify((s.maximum ?? Number.MAX_SAFE_INTEGER) + 2)),
  );
const badNumber = fc.constantFrom('1e999', '-1e999');

interface Mutation {
  text: string;
  /** The code the protocol table gives this refusal. */
  code: 'bad_request' | 'unknown_frame';
  what: string;
}

/** One field of a valid frame changed so that the frame is no longer valid. */
function mutationsOf(frame: ClientFrame): fc.Arbitrary<Mutation> {
  const schema = schemaOf(frame.type);
  const entries = entriesOf(frame);
  const fields = Object.keys(schema.properties);
  const replace = (key: string, raw: string): Entries => {
    const has = entries.some(([k]) => k === key);
    return has ? entries.map(([k, v]) => [k, k === key ? raw : v]) : [...entries, [key, raw]];
  };
  const options: fc.Arbitrary<Mutation>[] = [];
  for (const key of fields) {
    const s = schema.properties[key]!;
    if (key === 'type') {
      options.push(
        fc.oneof(nonString, fc.string().filter((t) => !(frameTypes as string[]).includes(t)).map((t) => JSON.stringify(t)), fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', '"toString"', '"hasOwnProperty"', '"SEND"', '" send"'))
          .map((raw) => ({ text: toText(replace('type', raw)), code: 'unknown_frame', what: `type ${raw}` })),
      );
      continue;
    }
    const wrong: fc.Arbitrary<string>[] = [];
    if (s.type === 'string') {
      wrong.push(nonString);
      if (s.maxLength !== undefined) wrong.push(fc.string({ unit: anyChar, minLength: s.maxLength + 1, maxLength: s.maxLength + 40 }).filter((v) => v.length > s.maxLength!).map((v) => JSON.stringify(v)));
      if ((s.minLength ?? 0) > 0) wrong.push(fc.constant('""'));
      if (s.pattern !== undefined) {
        const re = new RegExp(s.pattern);
        wrong.push(fc.string({ unit: anyChar, minLength: 1, maxLength: 20 }).filter((v) => !re.test(v)).map((v) => JSON.stringify(v)));
      }
    }
    if (s.type === 'integer') wrong.push(nonNumber, badInteger(s));
    if (s.type === 'number') wrong.push(nonNumber, badNumber);
    if (s.type === 'object') {
      const [record] = Object.entries(s.patternProperties ?? {});
      if (record) {
        const [pattern, valueSchema] = record;
        const re = new RegExp(pattern);
        const goodKey = stringFor({ type: 'string', pattern, maxLength: 64 });
        const goodValue = valueFor(valueSchema).map((v) => JSON.stringify(v));
        wrong.push(
          fc.constantFrom('1', '"x"', 'true', '[]', '[1]'),
          // a key outside the pattern, a value outside its schema, one entry too many
          fc.tuple(fc.string({ unit: anyChar, maxLength: 20 }).filter((k) => !re.test(k)), goodValue).map(([k, v]) => `{${JSON.stringify(k)}:${v}}`),
          fc.tuple(goodKey, valueSchema.type === 'integer' ? badInteger(valueSchema) : nonNumber).map(([k, v]) => `{${JSON.stringify(k)}:${v}}`),
          fc.constant(`{${Array.from({ length: (s.maxProperties ?? 0) + 1 }, (_, i) => `"k${i}":1`).join(',')}}`).filter(() => s.maxProperties !== undefined),
        );
      }
    }
    options.push(fc.oneof(...wrong).map((raw) => ({ text: toText(replace(key, raw)), code: 'bad_request', what: `${key} = ${raw.slice(0, 60)}` })));
  }
  const required = schema.required ?? [];
  const removable = required.filter((k) => k !== 'type');
  if (removable.length > 0) {
    // A required field missing, alone or hidden under __proto__ where only a polluted prototype would find it.
    options.push(
      fc.tuple(fc.constantFrom(...removable), fc.boolean()).map(([key, hide]) => {
        const kept = entries.filter(([k]) => k !== key);
        const moved = entries.find(([k]) => k === key)!;
        return { text: toText(hide ? [...kept, ['__proto__', `{${JSON.stringify(key)}:${moved[1]}}`]] : kept), code: 'bad_request' as const, what: `${key} ${hide ? 'under __proto__' : 'missing'}` };
      }),
    );
  }
  // An extra key, the prototype-touching names first among them.
  const extraKey = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'polluted'),
    fc.string({ unit: anyChar, maxLength: 12 }),
  ).filter((k) => !fields.includes(k));
  const extraValue = fc.oneof(fc.constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', 'null'), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)));
  options.push(fc.tuple(extraKey, extraValue).map(([k, v]) => ({ text: toText([...entries, [k, v]]), code: 'bad_request', what: `extra key ${JSON.stringify(k)}` })));
  return fc.oneof(...options);
}

describe('client frame decoder properties', () => {
  it('every valid frame survives JSON and UTF-8 and decodes to an equal frame', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const bytes = Buffer.from(JSON.stringify(frame), 'utf8');
        expect(decodeBytes(bytes)).toEqual({ ok: true, frame });
      }),
      { numRuns: 2_000 },
    );
  });

  it('a frame with one field made wrong (type, sign, size, fraction, pattern, missing, extra, __proto__) is refused with its code, echoing the ids it could read', () => {
    fc.assert(
      fc.property(validFrame.chain(mutationsOf), (mutation) => {
        const result = decodeClientFrame(mutation.text);
        expectStructured(result);
        expect(result, mutation.what).toMatchObject({ ok: false, code: mutation.code });
        // A failed send must name its client id so the sender can settle that send.
        const parsed = JSON.parse(mutation.text) as Record<string, unknown>;
        if (!result.ok && typeof parsed.id === 'string' && parsed.id.length <= 64) expect(result.id).toBe(parsed.id);
        if (!result.ok && typeof parsed.ref === 'string' && parsed.ref.length <= 64) expect(result.ref).toBe(parsed.ref);
        expectNoPollution();
      }),
      { numRuns: 3_000 },
    );
  });

  it('arbitrary strings, JSON values and frame-shaped objects never throw and never pollute Object.prototype', () => {
    const frameShaped = fc
      .tuple(fc.constantFrom(...frameTypes, '__proto__', 'constructor', 'prototype'), fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'ref', 'seq', 'channelId', 'text', 't'), fc.string()), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }))
      .map(([type, rest]) => toText([['type', JSON.stringify(type)], ...Object.entries(rest).map(([k, v]): [string, string] => [k, JSON.stringify(v)])]));
    const input = fc.oneof(
      fc.string({ unit: anyChar, maxLength: 200 }),
      fc.json({ maxDepth: 5, stringUnit: anyChar }),
      fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
      frameShaped,
    );
    fc.assert(
      fc.property(input, (text) => {
        expectStructured(decodeClientFrame(text));
        expectNoPollution();
      }),
      { numRuns: 3_000 },
    );
  });

  it('random bytes, and valid frames with random bytes overwritten or inserted, decode (lone surrogates and malformed UTF-8 included) to a frame or a structured error', () => {
    const corrupted = fc
      .tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 6 }))
      .map(([frame, edits]) => {
        const bytes = [...Buffer.from(JSON.stringify(frame), 'utf8')];
        for (const [at, byte, insert] of edits) bytes.splice(at % (bytes.length + 1), insert ? 0 : 1, byte);
        return Uint8Array.from(bytes);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted), (bytes) => {
        const result = decodeBytes(bytes);
        expectStructured(result);
        // Compared as JSON carries it: a number that parses to -0 (`-0`, or one
        // too small to represent) is sent on as 0, the same JSON value.
        if (result.ok) expect(decodeClientFrame(JSON.stringify(result.frame))).toEqual(JSON.parse(JSON.stringify(result)));
        expectNoPollution();
      }),
      // A case a random run found: a timestamp that parses to -0.
      { numRuns: 3_000, examples: [[new TextEncoder().encode('{"type":"ping","t":-2.5192825881968792e-1290}')]] },
    );
  });

  it('deeply nested values anywhere in a frame, up to the largest legal frame, are refused without throwing', () => {
    const maxDepth = Math.floor((MAX_FRAME_BYTES - 1_000) / 6);
    const nested = fc.record({
      depth: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1_000, max: maxDepth })),
      asObject: fc.boolean(),
      at: fc.constantFrom('type', 'id', 'channelId', 'text', 'seq', 'ref', 't', 'extra', 'whole'),
      frame: validFrame,
    });
    fc.assert(
      fc.property(nested, ({ depth: wanted, asObject, at, frame }) => {
        const entries = entriesOf(frame).filter(([k]) => k !== at);
        // Nested as deep as the frame's other fields leave room for (a sync
        // frame's `have` alone can take hundreds of KB).
        const room = at === 'whole' ? MAX_FRAME_BYTES : MAX_FRAME_BYTES - Buffer.byteLength(toText(entries)) - 64;
        const depth = Math.max(1, Math.min(wanted, Math.floor(room / 6)));
        const deep = asObject ? '{"a":'.repeat(depth) + '0' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
        const text = at === 'whole' ? deep : toText([...entries, [at, deep]]);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        const result = decodeClientFrame(text);
        expectStructured(result);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('a send whose text is over the code point limit is refused with message_too_long before it reaches the store; up to the limit it fits in one frame', async () => {
    const reached: string[] = [];
    const store = new Proxy({} as Store, {
      get: (_t, name) => () => {
        reached.push(String(name));
        throw new Error(`store.${String(name)} reached`);
      },
    });
    const fanout = {} as Fanout;
    const messages = new MessagesService(store, fanout, { maxBatch: 64, now: () => 0, metrics: { committed() {}, batch() {} } });
    const session = { user: { id: 'u_sender' }, device: { id: 'd_sender' } } as Session;
    // Units of every width: ASCII, a control character JSON escapes to 6 bytes, BMP, astral (two UTF-16 units), a combining mark.
    const unit = fc.constantFrom('x', '\u0001', '\u00e9', '中', '😀', '\u0301');
    await fc.assert(
      fc.asyncProperty(unit, fc.integer({ min: -3, max: 40 }), fc.constantFrom('', 'a', '😀'), async (u, over, tail) => {
        const text = u.repeat(MAX_MESSAGE_CODE_POINTS + over - countCodePoints(tail)) + tail;
        const points = MAX_MESSAGE_CODE_POINTS + over;
        expect(countCodePoints(text)).toBe(points);
        const wire = JSON.stringify({ type: 'send', id: 'long-1', channelId: 'c_1', text });
        if (points <= MAX_MESSAGE_CODE_POINTS) expect(Buffer.byteLength(wire)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        const decoded = decodeClientFrame(wire);
        if (!decoded.ok || decoded.frame.type !== 'send') throw new Error('a send frame with a string text must decode');
        reached.length = 0;
        const refusal = await messages.send(session, decoded.frame.channelId, decoded.frame.id, decoded.frame.text).then(
          () => null,
          (err: unknown) => err,
        );
        if (points <= MAX_MESSAGE_CODE_POINTS) {
          // Within the limit the text rule lets it through to the (stub) store.
          expect(reached).toContain('appendMessages');
          return;
        }
        expect(refusal).toBeInstanceOf(AppError);
        expect((refusal as AppError).code).toBe('message_too_long');
        expect(reached).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
