import { ClientFrameSchemas, type ClientFrame, type ErrorCode } from '@confab/protocol';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const checkers = Object.fromEntries(
  Object.entries(ClientFrameSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
) as { [K in keyof typeof ClientFrameSchemas]: ReturnType<typeof TypeCompiler.Compile<(typeof ClientFrameSchemas)[K]>> };

export type Decoded =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id?: string; ref?: string };

/**
 * Parses and validates one client text frame. Never throws: every failure is
 * a recoverable protocol error carrying whatever correlation id could be read.
 */
export function decodeClientFrame(data: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, code: 'bad_request', message: 'Frame is not valid JSON.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_request', message: 'Frame must be a JSON object.' };
  }
  const obj = value as Record<string, unknown>;
  const correlation = {
    ...(typeof obj.id === 'string' && obj.id.length <= 64 && { id: obj.id }),
    ...(typeof obj.ref === 'string' && obj.ref.length <= 64 && { ref: obj.ref }),
  };
  const type = obj.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(checkers, type)) {
    // Only a string type is quoted back: String() of a JSON object can throw
    // ({"toString":1}) or overflow the stack (deeply nested arrays).
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : `of JSON type ${type === null ? 'null' : Array.isArray(type) ? 'array' : typeof type}`;
    return { ok: false, code: 'unknown_frame', message: `Unknown frame type ${shown}.`, ...correlation };
  }
  const checker = checkers[type as keyof typeof checkers];
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
    return { ok: false, code: 'bad_request', message: `Invalid ${type} frame (${where}).`, ...correlation };
  }
  return { ok: true, frame: value as ClientFrame };
}
