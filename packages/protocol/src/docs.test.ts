import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCode } from './close-codes.js';
import { ERROR_CODES } from './errors.js';
import { ClientFrameSchemas } from './frames.js';
import { MAX_FRAME_BYTES } from './limits.js';

// Keeps docs/protocol.md true: everything the code defines must be documented there.
const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it('documents every error code with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('documents every client frame and every close code', () => {
    for (const type of Object.keys(ClientFrameSchemas)) expect(doc, type).toContain(`"type": "${type}"`);
    for (const code of Object.values(CloseCode)) expect(doc, String(code)).toMatch(new RegExp(`\\| ${code} \\|`));
  });

  it('states the frame limit the code enforces', () => {
    expect(doc).toContain(MAX_FRAME_BYTES.toLocaleString('en-US'));
  });
});
