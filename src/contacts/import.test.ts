import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImportArgs, runImport } from '../cli/import.js';
import { importContacts } from './import.js';
import { Readable } from 'node:stream';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';

let t: TestApp;
let a: Caller;
beforeAll(async () => {
  t = await createTestApp();
  a = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

function upload(caller: Caller, csv: string, query = '') {
  return t.app.inject({ method: 'POST', url: `/api/imports${query}`, headers: { ...caller.bearer, 'content-type': 'text/csv' }, payload: csv });
}
async function contactByEmail(caller: Caller, email: string) {
  const response = await t.app.inject({ method: 'GET', url: `/api/contacts?search=${encodeURIComponent(email)}`, headers: caller.bearer });
  return response.json().contacts.find((c: { email: string }) => c.email === email);
}

describe('CSV import', () => {
  it('maps columns, merges by email, reports bad rows and records events', async () => {
    const caller = await signUp(t.app);
    await t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload: { email: 'existing@example.com', firstName: 'Keep', phone: '+1 555', status: 'customer', tags: ['old'], subscriptionState: 'unsubscribed' } });
    const csv = [
      'E-mail Address,First Name,Last Name,Company,Title,Status,Tags,Plan,Notes',
      'new.one@example.com,New,One,Acme,CEO,lead,vip;eu,pro,hello',
      'EXISTING@example.com,,Surname,Globex,,prospect,new-tag,free,',
      'not-an-email,Bad,Row,,,,,,',
      'bad.status@example.com,X,Y,,,vip,,,',
      '"quoted@example.com","Quoted, Name",Z,"Initech, Inc.",,,,,',
      'new.one@example.com,,,,,customer,late,,',
      ',,,,,,,,',
    ].join('\n');
    const response = await upload(caller, csv, '?filename=people.csv&map=Notes%3Dignore&map=Plan%3Dcustom:plan');
    expect(response.statusCode).toBe(201);
    const report = response.json();
    expect(report).toMatchObject({ status: 'completed', filename: 'people.csv', rowsProcessed: 6, rowsCreated: 2, rowsUpdated: 1, rowsFailed: 2 });
    expect(report.errors).toEqual([
      { row: 4, code: 'INVALID_EMAIL', message: '"not-an-email" is not a valid email address' },
      { row: 5, code: 'INVALID_VALUE', message: expect.stringContaining('status must be one of') },
    ]);
    expect(report.mapping).toMatchObject({ 'E-mail Address': 'email', Title: 'jobTitle', Plan: 'custom:plan', Notes: 'ignore' });

    const created = await contactByEmail(caller, 'new.one@example.com');
    // The same email twice in the file merges: later values win, tags add up.
    expect(created).toMatchObject({ firstName: 'New', lastName: 'One', company: 'Acme', jobTitle: 'CEO', status: 'customer', tags: ['vip', 'eu', 'late'], customFields: { plan: 'pro' } });
    expect(created.customFields).not.toHaveProperty('Notes');
    const merged = await contactByEmail(caller, 'existing@example.com');
    // Empty cells keep values, status never regresses, an unsubscribed contact stays unsubscribed.
    expect(merged).toMatchObject({ firstName: 'Keep', lastName: 'Surname', company: 'Globex', phone: '+1 555', status: 'customer', tags: ['old', 'new-tag'], subscriptionState: 'unsubscribed', customFields: { plan: 'free' } });
    expect(await contactByEmail(caller, 'quoted@example.com')).toMatchObject({ firstName: 'Quoted, Name', company: 'Initech, Inc.' });

    const events = await t.db.query<{ name: string; email: string }>(
      `SELECT e.name, c.email FROM events e JOIN contacts c ON c.id = e.contact_id WHERE e.workspace_id = $1 AND e.name IN ('contact_created', 'tag_added', 'field_updated') AND c.email <> 'existing@example.com' OR (e.workspace_id = $1 AND c.email = 'existing@example.com' AND e.properties ->> 'source' = 'import')`,
      [caller.workspaceId],
    );
    const names = events.rows.map((r) => `${r.name}:${r.email}`).sort();
    expect(names).toEqual(expect.arrayContaining(['contact_created:new.one@example.com', 'contact_created:quoted@example.com', 'field_updated:existing@example.com', 'tag_added:new.one@example.com']));
    // The score is computed for imported contacts (a CEO customer has role and status points).
    expect(created.score).toBe(20);

    const progress = await t.app.inject({ method: 'GET', url: `/api/imports/${report.id}`, headers: caller.bearer });
    expect(progress.json()).toEqual(report);
    const list = await t.app.inject({ method: 'GET', url: '/api/imports', headers: caller.bearer });
    expect(list.json().imports[0].id).toBe(report.id);
    const other = await signUp(t.app);
    expect((await t.app.inject({ method: 'GET', url: `/api/imports/${report.id}`, headers: other.bearer })).statusCode).toBe(404);
  });

  it('refuses a file without an email column, a malformed CSV and a bad mapping, keeping the report', async () => {
    const noEmail = await upload(a, 'name,company\nA,B\n');
    expect(noEmail.statusCode).toBe(400);
    expect(noEmail.json().error.code).toBe('IMPORT_NO_EMAIL_COLUMN');
    const failed = await t.app.inject({ method: 'GET', url: `/api/imports/${noEmail.json().error.details.importId}`, headers: a.bearer });
    expect(failed.json().status).toBe('failed');

    const malformed = await upload(a, 'email,name\nok@example.com,"unterminated\n');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('IMPORT_CSV_INVALID');

    // UTF-16 with its byte order mark is read as such; without it, the NUL bytes in the header fail
    // the file. Rows with a NUL byte or bytes that do not decode are refused one by one.
    const utf16 = await t.app.inject({ method: 'POST', url: '/api/imports', headers: { ...a.bearer, 'content-type': 'text/csv' }, payload: Buffer.from('\ufeffemail,company\nu16@example.com,Zoë\n', 'utf16le') });
    expect(utf16.statusCode).toBe(201);
    expect(await contactByEmail(a, 'u16@example.com')).toMatchObject({ company: 'Zoë' });
    const noMark = await t.app.inject({ method: 'POST', url: '/api/imports', headers: { ...a.bearer, 'content-type': 'text/csv' }, payload: Buffer.from('email\nu16@example.com\n', 'utf16le') });
    expect(noMark.statusCode).toBe(400);
    expect(noMark.json().error.code).toBe('IMPORT_CSV_INVALID');
    const mixed = Buffer.concat([Buffer.from('email,company\nfine@example.com,Acme\nnul@example.com,Ac\u0000me\nlatin1@example.com,'), Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72]), Buffer.from('\nutf8@example.com,Müller\n')]);
    const encoded = await t.app.inject({ method: 'POST', url: '/api/imports', headers: { ...a.bearer, 'content-type': 'text/csv' }, payload: mixed });
    expect(encoded.statusCode).toBe(201);
    expect(encoded.json()).toMatchObject({ rowsCreated: 2, rowsFailed: 2 });
    expect(encoded.json().errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([[3, 'INVALID_ENCODING'], [4, 'INVALID_ENCODING']]);
    expect(await contactByEmail(a, 'utf8@example.com')).toMatchObject({ company: 'Müller' });

    const badMap = await upload(a, 'email\nx@example.com\n', '?map=email%3Dpassword');
    expect(badMap.statusCode).toBe(400);
    expect(badMap.json().error.code).toBe('VALIDATION_FAILED');
    const json = await t.app.inject({ method: 'POST', url: '/api/imports', headers: a.bearer, payload: { email: 'x@example.com' } });
    expect(json.statusCode).toBe(415);

    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: a.session, payload: { name: 'viewer', role: 'viewer' } });
    const viewer = await t.app.inject({ method: 'POST', url: '/api/imports', headers: { authorization: `Bearer ${key.json().key}`, 'content-type': 'text/csv' }, payload: 'email\nv@example.com\n' });
    expect(viewer.statusCode).toBe(403);
  });

  it('imports in chunks from the CLI with progress on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'uh-import-'));
    const file = path.join(dir, 'contacts.csv');
    const lines = ['mail;Full Name;Segment'];
    for (let i = 0; i < 2500; i += 1) lines.push(`cli-${i}@example.com;Person ${i};s${i % 3}`);
    // Semicolon-separated files are not auto-detected: the delimiter is the comma, so map the single column.
    writeFileSync(file, `${lines.join('\n').replace(/;/g, ',')}\n`);
    const args = parseImportArgs([file, '--workspace', a.workspaceId, '--map', 'Segment=custom:segment', '--chunk-size', '1000']);
    let progress = '';
    const stderr = new Writable({
      write(chunk, _encoding, done) {
        progress += String(chunk);
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const report = await runImport(t.runtime, args, stderr);
    expect(report).toMatchObject({ status: 'completed', rowsProcessed: 2500, rowsCreated: 2500, rowsFailed: 0 });
    expect(progress).toContain('100%');
    expect(progress.match(/\r/g)?.length).toBeGreaterThanOrEqual(3);
    const sample = await contactByEmail(a, 'cli-7@example.com');
    expect(sample).toMatchObject({ firstName: 'Person', lastName: '7', customFields: { segment: 's1' } });
    const again = await runImport(t.runtime, args, stderr);
    expect(again).toMatchObject({ rowsCreated: 0, rowsUpdated: 2500 });
    expect(() => parseImportArgs([file])).toThrow(/--workspace/);
  });

  it('merges an email repeated across chunks written at once, in file order, counting it once', async () => {
    const caller = await signUp(t.app);
    // Chunks of 2 rows, several written at once on PostgreSQL: the repeated address is in chunks 1, 2 and 4.
    const csv = ['email,first_name,status,tags', 'same@example.com,First,prospect,one', 'a@example.com,A,,', 'same@example.com,Second,lead,two', 'b@example.com,B,,', 'c@example.com,C,,', 'd@example.com,D,,', 'same@example.com,,customer,three', 'e@example.com,E,,'].join('\n');
    const progress: number[] = [];
    const report = await importContacts(
      { db: t.db, clock: t.runtime.deps.clock, eventSink: t.runtime.deps.eventSink },
      caller.workspaceId,
      { type: 'system', id: null, requestId: 'test' },
      Readable.from([csv]),
      { source: 'cli', chunkSize: 2, writers: 3, onProgress: (p) => progress.push(p.rowsCreated + p.rowsUpdated + p.rowsFailed) },
    );
    expect(report).toMatchObject({ status: 'completed', rowsProcessed: 8, rowsCreated: 6, rowsUpdated: 2, rowsFailed: 0 });
    // Progress is reported chunk by chunk in file order, never going back.
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(await contactByEmail(caller, 'same@example.com')).toMatchObject({ firstName: 'Second', status: 'customer', tags: ['one', 'two', 'three'] });
    const events = await t.db.query<{ name: string }>(`SELECT e.name FROM events e JOIN contacts c ON c.id = e.contact_id WHERE e.workspace_id = $1 AND c.email = 'same@example.com' ORDER BY e.name`, [caller.workspaceId]);
    expect(events.rows.map((r) => r.name).filter((n) => ['contact_created', 'field_updated', 'tag_added'].includes(n))).toEqual(['contact_created', 'field_updated', 'field_updated', 'tag_added', 'tag_added', 'tag_added']);
  });

  it('reports every committed chunk when a chunk written beside it fails', async () => {
    const caller = await signUp(t.app);
    const lines = ['email'];
    for (let i = 0; i < 12; i += 1) lines.push(i === 1 ? 'boom@example.com' : `ok-${i}@example.com`);
    // A sink that refuses one contact's events rolls its chunk back; the chunks beside it commit.
    const failing = {
      async onEvents(q: Parameters<typeof t.runtime.deps.eventSink.onEvents>[0], events: Parameters<typeof t.runtime.deps.eventSink.onEvents>[1]) {
        if (events.some((e) => e.properties.email === 'boom@example.com')) throw new Error('sink refused');
        await t.runtime.deps.eventSink.onEvents(q, events);
      },
    };
    await expect(
      importContacts({ db: t.db, clock: t.runtime.deps.clock, eventSink: failing }, caller.workspaceId, { type: 'system', id: null, requestId: 'test' }, Readable.from([lines.join('\n')]), { source: 'cli', chunkSize: 3, writers: 2 }),
    ).rejects.toThrow('sink refused');
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE workspace_id = $1', [caller.workspaceId]);
    const saved = await t.db.query<{ status: string; rows_created: number }>('SELECT status, rows_created FROM contact_imports WHERE workspace_id = $1', [caller.workspaceId]);
    expect(saved.rows).toEqual([{ status: 'failed', rows_created: stored.rows[0]!.n }]);
    expect(stored.rows[0]!.n).toBeLessThan(12);
  });

  it('gives imported contacts and their events time-ordered version 7 ids', async () => {
    const caller = await signUp(t.app);
    const system = { type: 'system' as const, id: null, requestId: 'test' };
    await importContacts({ db: t.db, clock: t.runtime.deps.clock, eventSink: t.runtime.deps.eventSink }, caller.workspaceId, system, Readable.from(['email,tags\nv7-a@example.com,x\nv7-b@example.com,y']), { source: 'cli' });
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const contacts = await t.db.query<{ id: string }>('SELECT id::text AS id FROM contacts WHERE workspace_id = $1', [caller.workspaceId]);
    const events = await t.db.query<{ id: string }>(`SELECT id::text AS id FROM events WHERE workspace_id = $1 AND name IN ('contact_created', 'tag_added')`, [caller.workspaceId]);
    expect(contacts.rows).toHaveLength(2);
    expect(events.rows).toHaveLength(4);
    for (const { id } of [...contacts.rows, ...events.rows]) expect(id).toMatch(v7);
  });
});
