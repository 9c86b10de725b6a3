/**
 * Request and response shapes of the CSV import routes (import.routes.ts): the import report and
 * the upload's query (filename, column mapping).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

/** An import's report: progress while it runs, counts and per-row errors when it is done. */
export const ImportSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]),
  source: Type.String(),
  filename: Type.Union([Type.String(), Type.Null()]),
  mapping: Type.Record(Type.String(), Type.String()),
  bytesRead: Type.Integer(),
  rowsProcessed: Type.Integer(),
  rowsCreated: Type.Integer(),
  rowsUpdated: Type.Integer(),
  rowsFailed: Type.Integer(),
  errors: Type.Array(Type.Object({ row: Type.Integer(), code: Type.String(), message: Type.String() })),
  failure: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});
export const ImportQuery = Type.Object(
  {
    filename: Type.Optional(Type.String({ maxLength: 300 })),
    map: Type.Optional(Type.Array(Type.String({ maxLength: 200, pattern: '^[^=]+=.+$' }), { maxItems: 200, description: 'column=field, e.g. "E-mail address=email", "Plan=custom:plan", "Notes=ignore"' })),
  },
  { additionalProperties: false },
);

export const ImportList = Type.Object({ imports: Type.Array(ImportSchema) });
