/**
 * Request validation. Bodies are validated strictly (no type coercion, unknown fields refused);
 * querystrings and params are coerced from strings, since that is all a URL can carry.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

// Times are stored as PostgreSQL timestamps and written as ISO-8601 with four-digit years.
const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/** Whether a time (ms since the epoch) lies in the years 1–9999, which every store and format here takes. */
export function isStorableTime(ms: number): boolean {
  return ms >= EARLIEST_TIME && ms <= LATEST_TIME;
}

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes, strict: false });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  // RFC 3339 admits the year 0000, which PostgreSQL refuses: `date-time` also needs a storable time.
  const rfc3339 = ajv.formats['date-time'] as { validate: (value: string) => boolean };
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => rfc3339.validate(value) && isStorableTime(Date.parse(value)) });
  return ajv;
}

const strict = makeAjv(false);
const coercing = makeAjv('array');

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema as object) as ValidateFunction;
};
