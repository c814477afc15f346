import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * Validates requests with the protocol's TypeBox schemas instead of Ajv's
 * defaults. Bodies are checked strictly (a number is never accepted where a
 * string is expected). Query strings and path params are text by nature, so a
 * field declared as a number is converted first, but only from plain decimal
 * notation: `1.5`, `0x10`, `1e400` or ` 7` stay strings and are refused,
 * rather than being truncated into some other number.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const checker = TypeCompiler.Compile(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params';
  return (data: unknown) => {
    const value = convert ? convertFlat(schema, data) : data;
    if (checker.Check(value)) return { value };
    const first = checker.Errors(value).First();
    const where = first ? `${httpPart}${first.path}: ${first.message}` : `${httpPart} is invalid`;
    return { error: Object.assign(new Error(where), { statusCode: 400, code: 'FST_ERR_VALIDATION' }) };
  };
};

const INTEGER = /^-?\d{1,16}$/;
const DECIMAL = /^-?\d{1,16}(\.\d{1,16})?$/;

function convertFlat(schema: TSchema, data: unknown): unknown {
  const props = (schema as { properties?: Record<string, { type?: string }> }).properties;
  if (!props || typeof data !== 'object' || data === null) return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const [key, prop] of Object.entries(props)) {
    const v = out[key];
    if (typeof v !== 'string') continue;
    if ((prop.type === 'integer' && INTEGER.test(v)) || (prop.type === 'number' && DECIMAL.test(v))) out[key] = Number(v);
  }
  return out;
}
