import { describe, expect, it } from 'vitest';
import { base64UrlToBytes, bytesToBase64Url, registrationOf, sameKey, sameRegistration } from './push-keys.js';

describe('base64url', () => {
  it('decodes the URL-safe alphabet, with or without padding', () => {
    expect([...base64UrlToBytes('-_8')]).toEqual([0xfb, 0xff]);
    expect([...base64UrlToBytes('-_8=')]).toEqual([0xfb, 0xff]);
    expect([...base64UrlToBytes('AQID')]).toEqual([1, 2, 3]);
    expect(base64UrlToBytes('')).toHaveLength(0);
  });

  it('round-trips a 65-byte uncompressed P-256 public key, as VAPID keys are', () => {
    const key = new Uint8Array(65).map((_, i) => (i * 37 + 4) & 0xff);
    key[0] = 0x04;
    const text = bytesToBase64Url(key);
    expect(text).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect(base64UrlToBytes(text)).toEqual(key);
  });

  it('refuses text that is not base64url', () => {
    expect(() => base64UrlToBytes('a+b/')).toThrow(TypeError);
    expect(() => base64UrlToBytes('abcde')).toThrow(TypeError);
    expect(() => base64UrlToBytes('ab cd')).toThrow(TypeError);
  });
});

describe('sameKey', () => {
  const key = new Uint8Array([4, 1, 2, 3]);
  it('compares a subscription key (buffer or view) with the server key', () => {
    expect(sameKey(new Uint8Array([4, 1, 2, 3]).buffer, key)).toBe(true);
    expect(sameKey(new Uint8Array([9, 4, 1, 2, 3]).subarray(1), key)).toBe(true);
    expect(sameKey(new Uint8Array([4, 1, 2, 9]).buffer, key)).toBe(false);
    expect(sameKey(new Uint8Array([4, 1, 2]).buffer, key)).toBe(false);
    expect(sameKey(null, key)).toBe(false);
  });
});

describe('registrationOf', () => {
  const json = { endpoint: 'https://push.example/send/abc', expirationTime: null, keys: { p256dh: 'BPk', auth: 'aGk' } };
  it("takes the subscription's endpoint and keys", () => {
    expect(registrationOf(json)).toEqual({ kind: 'webpush', endpoint: json.endpoint, keys: { p256dh: 'BPk', auth: 'aGk' } });
  });

  it('refuses an incomplete subscription', () => {
    expect(registrationOf({ endpoint: json.endpoint })).toBeNull();
    expect(registrationOf({ keys: json.keys })).toBeNull();
    expect(registrationOf({ endpoint: json.endpoint, keys: { p256dh: 'BPk' } })).toBeNull();
  });

  it('tells whether the server already has it', () => {
    const reg = registrationOf(json)!;
    expect(sameRegistration(reg, reg)).toBe(true);
    expect(sameRegistration({ ...reg, keys: { ...reg.keys, auth: 'other' } }, reg)).toBe(false);
    expect(sameRegistration({ kind: 'fcm', token: 't' }, reg)).toBe(false);
    expect(sameRegistration(null, reg)).toBe(false);
  });
});
