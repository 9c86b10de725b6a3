import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, joinByInvitation, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { coerceCustomValue, CUSTOM_FIELD_TYPES } from './custom-fields.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

function declare(caller: Caller, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/custom-fields', headers: caller.bearer, payload });
}
async function contact(caller: Caller, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload });
}
async function customFieldsOf(caller: Caller, email: string): Promise<Record<string, unknown>> {
  const response = await t.app.inject({ method: 'GET', url: `/api/contacts?search=${encodeURIComponent(email)}`, headers: caller.bearer });
  return (response.json().contacts as Array<{ email: string; customFields: Record<string, unknown> }>).find((c) => c.email === email)!.customFields;
}

describe('custom field definitions', () => {
  it('are declared, listed, renamed and removed per workspace, by admins only', async () => {
    const a = await signUp(t.app);
    const other = await signUp(t.app);
    const created = await declare(a, { key: 'seats', label: 'Seats', type: 'number' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ key: 'seats', label: 'Seats', type: 'number', converted: 0 });
    expect((await declare(a, { key: 'seats', type: 'text' })).json().error.code).toBe('CUSTOM_FIELD_EXISTS');
    // A contact's own field cannot be shadowed; bad shapes are 400.
    expect((await declare(a, { key: 'firstName', type: 'text' })).json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'key' } });
    expect((await declare(a, { key: 'plan', type: 'json' })).statusCode).toBe(400);
    expect((await declare(a, { key: '', type: 'text' })).statusCode).toBe(400);

    const list = await t.app.inject({ method: 'GET', url: '/api/custom-fields', headers: a.bearer });
    expect(list.json().fields.map((f: { key: string }) => f.key)).toEqual(['seats']);
    // Another workspace sees none of them and cannot change them.
    expect((await t.app.inject({ method: 'GET', url: '/api/custom-fields', headers: other.bearer })).json().fields).toEqual([]);
    expect((await t.app.inject({ method: 'PATCH', url: '/api/custom-fields/seats', headers: other.bearer, payload: { label: 'x' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/custom-fields/seats', headers: other.bearer })).statusCode).toBe(404);

    // A member may read them but not declare them (settings:write).
    const memberEmail = `member-${a.workspaceId}@example.com`;
    const member = (await joinByInvitation(t.app, t.db, a, { email: memberEmail, name: 'Mem', role: 'member' })).session;
    expect((await t.app.inject({ method: 'GET', url: '/api/custom-fields', headers: member })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/custom-fields', headers: member, payload: { key: 'x', type: 'text' } })).json().error.code).toBe('FORBIDDEN');

    const renamed = await t.app.inject({ method: 'PATCH', url: '/api/custom-fields/seats', headers: a.bearer, payload: { label: 'Licensed seats' } });
    expect(renamed.json()).toMatchObject({ key: 'seats', label: 'Licensed seats', type: 'number', converted: 0 });
    expect((await t.app.inject({ method: 'DELETE', url: '/api/custom-fields/seats', headers: a.bearer })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/custom-fields', headers: a.bearer })).json().fields).toEqual([]);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_type = 'custom_field' ORDER BY created_at`, [a.workspaceId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['custom_field.create', 'custom_field.update', 'custom_field.delete']);
  });

  it('convert the values already stored, or refuse with the contacts in the way and change nothing', async () => {
    const a = await signUp(t.app);
    await contact(a, { email: 'one@example.com', customFields: { seats: '12', trial: 'yes', renews: '2027-03-01T10:00:00Z' } });
    await contact(a, { email: 'two@example.com', customFields: { seats: 7, trial: 'no', renews: '2027-01-15' } });
    await contact(a, { email: 'three@example.com', customFields: { seats: 'a dozen', trial: true } });

    const refused = await declare(a, { key: 'seats', type: 'number' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'CUSTOM_FIELD_VALUES_MISMATCH', details: { key: 'seats', type: 'number', contacts: 1, examples: [{ email: 'three@example.com', value: 'a dozen' }] } });
    expect((await t.app.inject({ method: 'GET', url: '/api/custom-fields', headers: a.bearer })).json().fields).toEqual([]);
    expect(await customFieldsOf(a, 'one@example.com')).toMatchObject({ seats: '12' });

    const trial = await declare(a, { key: 'trial', label: 'On trial', type: 'boolean' });
    expect(trial.json()).toMatchObject({ type: 'boolean', converted: 2 });
    const renews = await declare(a, { key: 'renews', type: 'date' });
    expect(renews.json()).toMatchObject({ converted: 1 });
    expect(await customFieldsOf(a, 'one@example.com')).toEqual({ seats: '12', trial: true, renews: '2027-03-01' });
    expect(await customFieldsOf(a, 'two@example.com')).toEqual({ seats: 7, trial: false, renews: '2027-01-15' });
    // Converted contacts are queued for the event processor (their segments re-evaluate).
    const queued = await t.db.query<{ n: number }>(`SELECT coalesce(sum(cardinality(contact_ids)), 0)::int AS n FROM event_work WHERE workspace_id = $1`, [a.workspaceId]);
    expect(queued.rows[0]!.n).toBeGreaterThanOrEqual(3);

    // Changing a type converts too: text → number once the odd value is fixed.
    await declare(a, { key: 'seats', type: 'text' });
    expect(await customFieldsOf(a, 'two@example.com')).toMatchObject({ seats: '7' });
    const three = (await t.app.inject({ method: 'GET', url: '/api/contacts?search=three%40example.com', headers: a.bearer })).json().contacts[0];
    expect((await t.app.inject({ method: 'PATCH', url: '/api/custom-fields/seats', headers: a.bearer, payload: { type: 'number' } })).json().error.code).toBe('CUSTOM_FIELD_VALUES_MISMATCH');
    await t.app.inject({ method: 'PATCH', url: `/api/contacts/${three.id}`, headers: a.bearer, payload: { customFields: { seats: '12' } } });
    expect((await t.app.inject({ method: 'PATCH', url: '/api/custom-fields/seats', headers: a.bearer, payload: { type: 'number' } })).json()).toMatchObject({ type: 'number', converted: 3 });
    expect(await customFieldsOf(a, 'three@example.com')).toMatchObject({ seats: 12 });
  });
});

describe('typed values', () => {
  it('are converted or refused by the contacts API, keeping what was stored', async () => {
    const a = await signUp(t.app);
    await declare(a, { key: 'seats', type: 'number' });
    await declare(a, { key: 'renews', type: 'date' });
    const created = await contact(a, { email: 'typed@example.com', customFields: { seats: '25', renews: '2027-06-30', note: 'free-form stays as sent' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().customFields).toEqual({ seats: 25, renews: '2027-06-30', note: 'free-form stays as sent' });

    const bad = await contact(a, { email: 'bad@example.com', customFields: { seats: 'many' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'INVALID_CUSTOM_FIELD', details: { field: 'customFields.seats', key: 'seats', type: 'number' } });
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.json().id}`, headers: a.bearer, payload: { customFields: { renews: '2027-02-30' } } });
    expect(patched.json().error).toMatchObject({ code: 'INVALID_CUSTOM_FIELD', details: { field: 'customFields.renews' } });
    // A key with a space (as CSV headers make them) filters the list too.
    await declare(a, { key: 'Signup Date', type: 'date' });
    await contact(a, { email: 'spaced@example.com', customFields: { 'Signup Date': '2026-05-04T22:00:00-03:00' } });
    const listed = await t.app.inject({ method: 'GET', url: `/api/contacts?${new URLSearchParams({ 'cf.Signup Date': '2026-05-05' })}`, headers: a.bearer });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().contacts.map((c: { email: string }) => c.email)).toEqual(['spaced@example.com']);
    // null still removes a key.
    const cleared = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.json().id}`, headers: a.bearer, payload: { customFields: { renews: null } } });
    expect(cleared.json().customFields).toEqual({ seats: 25, note: 'free-form stays as sent' });
  });

  it('are converted by the CSV import, a cell that does not fit failing its row', async () => {
    const a = await signUp(t.app);
    await declare(a, { key: 'seats', type: 'number' });
    await declare(a, { key: 'vip', type: 'boolean' });
    const csv = ['email,seats,vip', 'ok@example.com,40,yes', 'odd@example.com,forty,no', 'blank@example.com,,'].join('\n');
    const response = await t.app.inject({ method: 'POST', url: '/api/imports', headers: { ...a.bearer, 'content-type': 'text/csv' }, payload: csv });
    expect(response.json()).toMatchObject({ rowsCreated: 2, rowsFailed: 1, errors: [{ row: 3, code: 'INVALID_VALUE', message: expect.stringContaining('seats must be a number (a number field)') }] });
    expect(await customFieldsOf(a, 'ok@example.com')).toEqual({ seats: 40, vip: true });
    expect(await customFieldsOf(a, 'blank@example.com')).toEqual({});
  });

  it('are converted from identify traits; a trait that does not fit refuses only its message', async () => {
    const a = await signUp(t.app);
    await declare(a, { key: 'seats', type: 'number' });
    const key = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: a.session, payload: { name: 'web' } })).json().key as string;
    const headers = { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` };
    const batch = await t.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers,
      payload: {
        batch: [
          { type: 'identify', userId: 'u1', traits: { email: 'u1@example.com', seats: '3' } },
          { type: 'identify', userId: 'u2', messageId: 'm-2', traits: { email: 'u2@example.com', seats: 'three' } },
          { type: 'track', userId: 'u1', event: 'Seat Added' },
        ],
      },
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().errors).toEqual([{ index: 1, messageId: 'm-2', code: 'MESSAGE_INVALID', message: 'traits.seats must be a number (a number custom field)' }]);
    expect(await customFieldsOf(a, 'u1@example.com')).toEqual({ seats: 3 });
    const u2 = await t.db.query(`SELECT 1 FROM contacts WHERE workspace_id = $1 AND email = 'u2@example.com'`, [a.workspaceId]);
    expect(u2.rows).toHaveLength(0);
  });

  it('are compared as numbers and dates by segments', async () => {
    const a = await signUp(t.app);
    await declare(a, { key: 'seats', type: 'number' });
    await declare(a, { key: 'renews', type: 'date' });
    await contact(a, { email: 'big@example.com', customFields: { seats: 120, renews: '2027-01-10' } });
    await contact(a, { email: 'small@example.com', customFields: { seats: 9, renews: '2026-12-01' } });
    // Free-form text that looks like a number is not one.
    await contact(a, { email: 'text@example.com', customFields: { seats: '500' } });
    await t.db.query(`UPDATE contacts SET custom_fields = '{"seats": "500", "renews": "soon"}' WHERE workspace_id = $1 AND email = 'text@example.com'`, [a.workspaceId]);
    const segment = async (conditions: unknown[]) => {
      const response = await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload: { name: `s-${Math.random()}`, kind: 'dynamic', definition: { match: 'all', conditions } } });
      expect(response.statusCode).toBe(201);
      const members = await t.app.inject({ method: 'GET', url: `/api/segments/${response.json().id}/members`, headers: a.bearer });
      return (members.json().contacts as Array<{ email: string }>).map((c) => c.email).sort();
    };
    // 120 > 10 as numbers ('120' < '9' as text).
    expect(await segment([{ kind: 'custom_field', key: 'seats', op: 'gte', value: 10 }])).toEqual(['big@example.com']);
    expect(await segment([{ kind: 'custom_field', key: 'seats', op: 'lt', value: 100 }])).toEqual(['small@example.com']);
    expect(await segment([{ kind: 'custom_field', key: 'renews', op: 'lt', value: '2027-01-01' }])).toEqual(['small@example.com']);
    expect(await segment([{ kind: 'custom_field', key: 'renews', op: 'gte', value: '2027-01-01' }])).toEqual(['big@example.com']);
    const bad = await t.app.inject({ method: 'POST', url: '/api/segments', headers: a.bearer, payload: { name: 'bad', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'custom_field', key: 'renews', op: 'lt', value: 'next week' }] } } });
    expect(bad.statusCode).toBe(400);
  });
});

describe('conversion rules', () => {
  it('are the same in TypeScript and in SQL (custom_value_as)', async () => {
    const inputs: unknown[] = [
      'hello', '  padded  ', '', 42, 0, 1, 2.5, -3, true, false, null, { a: 1 }, [1],
      '42', ' 7 ', '-1.5', '+3', '.5', '1e3', '1e400', '12abc', '0x10', 'Infinity', 'NaN',
      'true', 'TRUE', 'yes', 'No', '1', '0', 'y', 'on',
      '2027-01-15', '2024-02-29', '2023-02-29', '2027-13-01', '0000-01-01', '2027-01-15T23:30:00Z', '2027-01-15T23:30:00-05:00', '2027-01-15T10:00', '2027-01-15 10:00:00Z', '15/01/2027',
      'x'.repeat(2000), 'x'.repeat(2001),
    ];
    for (const type of CUSTOM_FIELD_TYPES) {
      const sql = await t.db.query<{ v: unknown }>(`SELECT custom_value_as(x, $2) AS v FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(x, n) ORDER BY n`, [JSON.stringify(inputs), type]);
      const fromSql = sql.rows.map((r) => r.v);
      const fromTs = inputs.map((input) => {
        if (input === null) return null;
        const coerced = coerceCustomValue(type, input);
        return coerced.ok ? coerced.value : null;
      });
      expect({ type, values: fromSql }).toEqual({ type, values: fromTs });
    }
  });
});
