/** CSV import routes: start an import from a streamed CSV body, list imports, read one report (shapes in import.schemas.ts). */
import { PassThrough, type Readable } from 'node:stream';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { IdParams } from '../http/schemas.js';
import { apiErrors, typed, type ApiInstance } from '../http/typed.js';
import { importContacts } from './import.js';
import { parseTarget, type ImportTarget } from './import-mapping.js';
import { getImport, listImports } from './import-records.js';
import { ImportList, ImportQuery, ImportSchema } from './import.schemas.js';

/** `col=field` pairs → mapping; an unknown field is a 400 naming it. */
export function parseMappingPairs(pairs: string[]): Record<string, ImportTarget> {
  const mapping: Record<string, ImportTarget> = {};
  for (const pair of pairs) {
    const at = pair.lastIndexOf('=');
    const column = pair.slice(0, at).trim();
    const target = parseTarget(pair.slice(at + 1).trim());
    if (!column || !target) throw new AppError('VALIDATION_FAILED', `"${pair}" is not column=field (fields: email, firstName, lastName, name, company, jobTitle, phone, status, tags, timezone, subscriptionState, custom:<key>, ignore)`, { field: 'map' });
    mapping[column] = target;
  }
  return mapping;
}

/**
 * The import reads a pass-through, not the request: when it stops early (a refused header row) it
 * destroys what it reads, and destroying the request would reset the connection. The request stays
 * whole, so the app reads the rest of a refused upload and keeps the connection usable
 * (src/http/body-drain.ts); an upload cut off by the client still fails the import.
 */
function detachedBody(upload: Readable): Readable {
  const body = new PassThrough();
  upload.pipe(body);
  upload.once('close', () => {
    if (!upload.readableEnded) body.destroy(new Error('the upload was interrupted'));
  });
  return body;
}

/** The CSV body as parsed by this scope's text/csv parser: the request stream itself. */
function isReadable(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}

export function importRoutes(app: ApiInstance, deps: AppDeps): void {
  const domain = { db: deps.db, clock: deps.clock, eventSink: deps.eventSink };

  void app.register(async (plain) => {
    const scope = typed(plain);
    // The CSV body is handed to the import as a stream, never buffered whole.
    scope.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

    scope.post('/imports', { config: { permission: 'contacts:write' }, schema: { tags: ['contacts'], summary: 'Import contacts from a CSV body (text/csv, streamed); merges by email; answers with the report', querystring: ImportQuery, response: { 201: ImportSchema, ...apiErrors(400, 413, 415) } } }, async (request, reply) => {
      const query = request.query;
      const mapping = parseMappingPairs(query.map ?? []);
      const body: unknown = request.body;
      if (!isReadable(body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV as text/csv');
      const report = await importContacts(domain, authOf(request).workspaceId, actorOf(request), detachedBody(body), { source: 'api', filename: query.filename, mapping });
      return reply.code(201).send(report);
    });

    scope.get('/imports', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], summary: 'Recent imports with their progress (poll while one runs)', response: { 200: ImportList, ...apiErrors() } } }, async (request) => ({
      imports: await listImports(deps.db, authOf(request).workspaceId, 50),
    }));

    scope.get('/imports/:id', { config: { permission: 'contacts:read' }, schema: { tags: ['contacts'], params: IdParams, response: { 200: ImportSchema, ...apiErrors(400, 404) } } }, async (request) =>
      getImport(deps.db, authOf(request).workspaceId, request.params.id),
    );
  });
}
