/**
 * CSV import of contacts: the file is streamed through csv-parse, rows are mapped to fields,
 * validated one by one (a bad row is reported, never fatal) and written in chunks — per chunk one
 * lookup of the existing contacts, one multi-row `INSERT … ON CONFLICT (workspace_id, email) DO
 * UPDATE`, one event insert — each chunk in its own transaction, so progress is visible and a
 * crash keeps what was committed (running the same file again merges, it never duplicates).
 *
 * Merge by email: a non-empty cell overwrites, an empty one keeps the stored value; tags are added;
 * custom fields merge; status only moves forward; an unsubscribed contact is never re-subscribed.
 * This file runs an import (stream, chunks, writers, the import's record); the row mapping is
 * import-mapping.ts, one chunk's transaction import-chunk.ts, the records' reads import-records.ts.
 */
import { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { AppError } from '../http/errors.js';
import { storableText } from '../http/text.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { loadFieldTypes } from './custom-fields.js';
import { writeChunk, type ImportDeps } from './import-chunk.js';
import { isDecodedText, mapRecord, mergeRows, resolveMapping, type ImportRow, type ImportRowError, type ImportTarget } from './import-mapping.js';
import { IMPORT_COLUMNS, toImport, type ContactImport, type ImportDbRow } from './import-records.js';

export const DEFAULT_CHUNK_SIZE = 5000;
export const DEFAULT_WRITERS = 2;
const MAX_STORED_ERRORS = 1000;
const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;
const ANALYZE_AFTER_ROWS = 10_000;

export interface ImportOptions {
  source: 'api' | 'cli';
  filename?: string | undefined;
  mapping?: Record<string, ImportTarget> | undefined;
  chunkSize?: number | undefined;
  /** Chunks written at once on PostgreSQL (each on its own connection); PGlite writes one at a time. */
  writers?: number | undefined;
  /** Called after each chunk (the CLI's progress bar). */
  onProgress?: ((progress: ContactImport) => void) | undefined;
}

/** Counts the bytes flowing through, refusing a file over the limit. */
async function* countBytes(input: Readable, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > MAX_IMPORT_BYTES) throw new AppError('IMPORT_TOO_LARGE', `A CSV import may be at most ${MAX_IMPORT_BYTES} bytes`);
    onBytes(total);
    yield buffer;
  }
}

/**
 * Runs an import to its end and returns the final report. Bad rows are reported; a CSV that
 * cannot be parsed stops the import (status failed) after keeping the chunks already written.
 */
export async function importContacts(deps: ImportDeps, workspaceId: string, actor: Actor, input: Readable, options: ImportOptions): Promise<ContactImport> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const explicit = options.mapping ?? {};
  const types = await loadFieldTypes(deps.db, workspaceId);
  const inserted = await deps.db.query<{ id: string }>(
    `INSERT INTO contact_imports (workspace_id, source, filename, mapping, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
    [workspaceId, options.source, options.filename ?? null, JSON.stringify(explicit), deps.clock.now()],
  );
  const importId = inserted.rows[0]!.id;
  let bytesRead = 0;
  let processed = 0;
  let created = 0;
  let updated = 0;
  let failed = 0;
  const errors: ImportRowError[] = [];
  let header: string[] | null = null;
  let targets: ImportTarget[] | null = null;
  let pending = new Map<string, ImportRow>();

  /** Where the report stands: counters as of the last chunk cut, written when that chunk committed. */
  interface Mark {
    bytesRead: number;
    processed: number;
    failed: number;
    errors: number;
  }
  const markNow = (): Mark => ({ bytesRead, processed, failed, errors: errors.length });
  const saveProgress = async (status: ContactImport['status'], mark: Mark, failure: string | null = null) => {
    const finished = status === 'running' ? null : deps.clock.now();
    const result = await deps.db.query<ImportDbRow>(
      `UPDATE contact_imports SET status = $3, bytes_read = $4, rows_processed = $5, rows_created = $6, rows_updated = $7, rows_failed = $8,
              errors = $9, failure = $10, mapping = $11, updated_at = $12, finished_at = $13
        WHERE workspace_id = $1 AND id = $2 RETURNING ${IMPORT_COLUMNS}`,
      [workspaceId, importId, status, mark.bytesRead, mark.processed, created, updated, mark.failed, JSON.stringify(errors.slice(0, mark.errors)), failure, JSON.stringify(mappingReport()), deps.clock.now(), finished],
    );
    const report = toImport(result.rows[0]!);
    options.onProgress?.(report);
    return report;
  };
  const mappingReport = (): Record<string, string> => (header && targets ? Object.fromEntries(header.map((h, i) => [h, targets![i]!])) : explicit);

  // Parsing runs ahead of writing: up to `writers` chunks are written at once (each its own
  // transaction on its own connection) while the next one is parsed. A chunk that shares an email
  // with a chunk still being written waits for it, so the later row is merged after the earlier
  // one and its lookup sees the stored contact. Progress is saved in chunk order.
  const writers = deps.db.kind === 'postgres' ? (options.writers ?? DEFAULT_WRITERS) : 1;
  const inFlight = new Set<{ emails: Map<string, ImportRow>; written: Promise<unknown> }>();
  let progressed: Promise<unknown> = Promise.resolve();
  let writeFailure: { error: unknown } | null = null;
  // Committed chunks whose counts the in-order progress has not reached yet (after a failure of
  // an earlier chunk it never will: the failed report adds them).
  const uncounted = new Set<{ created: number; updated: number }>();
  const flush = async () => {
    if (writeFailure) throw writeFailure.error;
    if (pending.size === 0) return;
    const chunk = pending;
    pending = new Map();
    for (const other of [...inFlight]) {
      for (const email of chunk.keys()) {
        if (other.emails.has(email)) {
          await other.written;
          break;
        }
      }
    }
    while (inFlight.size >= writers) await Promise.race([...inFlight].map((c) => c.written));
    const mark = markNow();
    const written = writeChunk(deps, workspaceId, [...chunk.values()], deps.clock.now());
    const entry = { emails: chunk, written };
    inFlight.add(entry);
    written.then(
      (result) => {
        inFlight.delete(entry);
        uncounted.add(result);
      },
      (error: unknown) => {
        writeFailure ??= { error };
      },
    );
    // Counters and progress advance in chunk order, whichever chunk commits first.
    progressed = Promise.all([progressed, written]).then(([, result]) => {
      uncounted.delete(result);
      created += result.created;
      updated += result.updated;
      return saveProgress('running', mark);
    });
    progressed.catch(() => undefined);
  };
  /** Waits for every chunk in flight; the first failure is thrown once all have settled. */
  const drain = async () => {
    const results = await Promise.allSettled([...inFlight].map((c) => c.written));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    await progressed;
  };

  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_empty_values: true, info: true, max_record_size: 1024 * 1024 });
  const source = Readable.from(
    countBytes(input, (n) => {
      bytesRead = n;
    }),
  );
  // pipe() applies backpressure; errors of the source (size limit, a broken upload) stop the parser.
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);

  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        if (!item.record.every(isDecodedText)) {
          throw new AppError('IMPORT_CSV_INVALID', 'The header row is not UTF-8 text (a NUL byte or bytes that are not UTF-8: UTF-16 or a spreadsheet file?): save the file as UTF-8 CSV');
        }
        header = item.record.map((h) => h.trim());
        targets = resolveMapping(header, explicit);
        if (!targets.includes('email')) throw new AppError('IMPORT_NO_EMAIL_COLUMN', 'No column maps to email: name one "email" or map one to email', { header });
        continue;
      }
      processed += 1;
      const mapped = mapRecord(item.record, targets!, item.info.lines, types);
      if ('code' in mapped) {
        failed += 1;
        if (errors.length < MAX_STORED_ERRORS) errors.push(mapped);
        continue;
      }
      // The same email twice in a chunk merges (one upsert cannot touch a row twice).
      const previous = pending.get(mapped.email);
      pending.set(mapped.email, previous ? mergeRows(previous, mapped) : mapped);
      if (pending.size >= chunkSize) await flush();
    }
    await flush();
    await drain();
  } catch (error) {
    source.destroy();
    await Promise.allSettled([...inFlight].map((c) => c.written));
    await progressed.catch(() => undefined);
    for (const result of uncounted) {
      created += result.created;
      updated += result.updated;
    }
    // A parser's message may quote the input: stored and answered, it must be storable text.
    const message = storableText(error instanceof CsvError ? `The CSV could not be parsed: ${error.message}` : error instanceof AppError ? error.message : 'The import stopped on an internal error');
    const report = await saveProgress('failed', markNow(), message);
    await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: report });
    if (error instanceof CsvError) throw new AppError('IMPORT_CSV_INVALID', message, { importId, line: (error as CsvError & { lines?: number }).lines });
    if (error instanceof AppError) throw new AppError(error.code, error.message, { importId, ...(typeof error.details === 'object' ? error.details : {}) });
    throw error;
  }
  if (!header) {
    const report = await saveProgress('failed', markNow(), 'The file is empty');
    await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: report });
    throw new AppError('IMPORT_NO_EMAIL_COLUMN', 'The file is empty: expected a header row with an email column', { importId });
  }
  // A bulk import changes the table's shape at once; fresh statistics let the planner choose
  // between the search index and the ordered scan right away instead of after autovacuum. The GIN
  // indexes took the new rows into their pending lists (cheap inserts), which every search would
  // otherwise read in full until autovacuum merges them: merge them now.
  if (created >= ANALYZE_AFTER_ROWS) {
    await deps.db.query('ANALYZE contacts');
    await deps.db.query(`SELECT gin_clean_pending_list('contacts_search_idx'::regclass), gin_clean_pending_list('contacts_tags_idx'::regclass)`);
  }
  const report = await saveProgress('completed', markNow());
  await recordAudit(deps.db, { workspaceId, actor, action: 'contact.import', resourceType: 'contact_import', resourceId: importId, after: { ...report, errors: report.errors.length } });
  return report;
}
