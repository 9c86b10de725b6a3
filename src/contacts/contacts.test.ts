import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineOf } from '../../test/campaign-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { listContacts, searchTerms, splitCustomFields, type ContactFilters } from './contact-list.js';

let t: TestApp;
let a: Caller;
beforeAll(async () => {
  t = await createTestApp();
  a = await signUp(t.app);
});
afterAll(async () => {
  await t.close();
});

async function create(caller: Caller, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/contacts', headers: caller.bearer, payload });
}

async function eventsOf(workspaceId: string, contactId: string) {
  const result = await t.db.query<{ type: string; name: string; properties: Record<string, unknown> }>(
    'SELECT type, name, properties FROM events WHERE workspace_id = $1 AND contact_id = $2 ORDER BY received_at, name',
    [workspaceId, contactId],
  );
  return result.rows;
}

describe('contacts CRUD', () => {
  it('creates a contact with a normalized email, the documented shape, events and an audit entry', async () => {
    const response = await create(a, { email: '  Ada.Lovelace@Example.COM ', firstName: 'Ada', company: 'Analytical', tags: ['vip', ' vip ', 'math'], customFields: { plan: 'pro', seats: 5 }, timezone: 'Europe/London' });
    expect(response.statusCode).toBe(201);
    const contact = response.json();
    expect(contact).toMatchObject({
      email: 'ada.lovelace@example.com',
      firstName: 'Ada',
      lastName: null,
      company: 'Analytical',
      jobTitle: null,
      phone: null,
      status: 'prospect',
      tags: ['vip', 'math'],
      customFields: { plan: 'pro', seats: 5 },
      timezone: 'Europe/London',
      subscriptionState: 'subscribed',
    });
    expect(typeof contact.score).toBe('number');
    expect(contact.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const events = await eventsOf(a.workspaceId, contact.id);
    expect(events.map((e) => e.name).sort()).toEqual(['contact_created', 'tag_added', 'tag_added']);
    expect(events.filter((e) => e.name === 'tag_added').map((e) => e.properties.tag).sort()).toEqual(['math', 'vip']);
    expect(events.every((e) => e.type === 'system')).toBe(true);
    const audit = await t.db.query<{ action: string }>('SELECT action FROM audit_log WHERE workspace_id = $1 AND resource_id = $2', [a.workspaceId, contact.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['contact.create']);

    const read = await t.app.inject({ method: 'GET', url: `/api/contacts/${contact.id}`, headers: a.bearer });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(contact);
  });

  it('refuses a duplicate email (any case) with 409 CONTACT_EMAIL_EXISTS and keeps the first', async () => {
    const first = await create(a, { email: 'dup@example.com', firstName: 'First' });
    expect(first.statusCode).toBe(201);
    const again = await create(a, { email: 'DUP@example.com ', firstName: 'Second' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONTACT_EMAIL_EXISTS');
    const other = await create(a, { email: 'other-dup@example.com' });
    const clash = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${other.json().id}`, headers: a.bearer, payload: { email: 'Dup@Example.com' } });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.code).toBe('CONTACT_EMAIL_EXISTS');
    const kept = await t.app.inject({ method: 'GET', url: `/api/contacts/${first.json().id}`, headers: a.bearer });
    expect(kept.json().firstName).toBe('First');
  });

  it('validates input: bad email, unknown fields, wrong types, bad time zone', async () => {
    const badEmail = await create(a, { email: 'not an email' });
    expect(badEmail.statusCode).toBe(400);
    expect(badEmail.json().error.code).toBe('INVALID_EMAIL');
    const unknown = await create(a, { email: 'u@example.com', favouriteColour: 'red' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('VALIDATION_FAILED');
    const wrongType = await create(a, { email: 'w@example.com', tags: 'vip' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.code).toBe('VALIDATION_FAILED');
    const badStatus = await create(a, { email: 'w@example.com', status: 'vip' });
    expect(badStatus.json().error.code).toBe('VALIDATION_FAILED');
    const badZone = await create(a, { email: 'w@example.com', timezone: 'Mars/Olympus' });
    expect(badZone.statusCode).toBe(400);
    const noBody = await t.app.inject({ method: 'PATCH', url: `/api/contacts/00000000-0000-4000-8000-000000000000`, headers: a.bearer, payload: {} });
    expect(noBody.statusCode).toBe(400);
    const list = await t.app.inject({ method: 'GET', url: '/api/contacts?limit=0', headers: a.bearer });
    expect(list.json().error.code).toBe('VALIDATION_FAILED');
    const cursor = await t.app.inject({ method: 'GET', url: '/api/contacts?cursor=garbage', headers: a.bearer });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().error.code).toBe('INVALID_CURSOR');
    const stored = await t.db.query('SELECT 1 FROM contacts WHERE workspace_id = $1 AND email IN ($2, $3)', [a.workspaceId, 'u@example.com', 'w@example.com']);
    expect(stored.rows).toHaveLength(0);
  });

  it('refuses text and times PostgreSQL cannot store with 400 VALIDATION_FAILED, changing nothing', async () => {
    const created = await create(a, { email: 'kept@example.com', firstName: 'Kept' });
    const id = created.json().id as string;
    const json = { ...a.bearer, 'content-type': 'application/json' };
    const refusals = [
      await t.app.inject({ method: 'POST', url: '/api/contacts', headers: json, payload: '{"email":"nul@example.com","firstName":"a\\u0000b"}' }),
      await t.app.inject({ method: 'POST', url: '/api/contacts', headers: json, payload: '{"email":"lone@example.com","customFields":{"note":["ok","\\udc00"]}}' }),
      await t.app.inject({ method: 'PATCH', url: `/api/contacts/${id}`, headers: json, payload: '{"company":"\\ud800"}' }),
      await t.app.inject({ method: 'GET', url: '/api/contacts?tag=%00', headers: a.bearer }),
      await t.app.inject({ method: 'GET', url: '/api/contacts?cf.plan=%00', headers: a.bearer }),
      await t.app.inject({ method: 'GET', url: '/api/contacts?activeSince=0000-01-01T00:00:00Z', headers: a.bearer }),
    ];
    expect(refusals.map((r) => [r.statusCode, r.json().error.code])).toEqual(refusals.map(() => [400, 'VALIDATION_FAILED']));
    expect(refusals[0]!.json().error.details).toEqual([{ path: '/firstName', message: expect.stringContaining('NUL') }]);
    expect(refusals[1]!.json().error.details[0].path).toBe('/customFields/note/1');
    const stored = await t.db.query<{ email: string; company: string | null }>('SELECT email, company FROM contacts WHERE workspace_id = $1 AND email IN ($2, $3, $4)', [a.workspaceId, 'kept@example.com', 'nul@example.com', 'lone@example.com']);
    expect(stored.rows).toEqual([{ email: 'kept@example.com', company: null }]);
  });

  it('updates fields, merges custom fields, records field_updated and audits before/after', async () => {
    const created = (await create(a, { email: 'patch@example.com', customFields: { plan: 'free', region: 'eu' } })).json();
    const response = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { jobTitle: 'CTO', status: 'lead', customFields: { plan: 'pro', region: null } } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ jobTitle: 'CTO', status: 'lead', customFields: { plan: 'pro' } });
    const events = await eventsOf(a.workspaceId, created.id);
    const update = events.find((e) => e.name === 'field_updated');
    expect(update?.properties.changes).toMatchObject({ jobTitle: { from: null, to: 'CTO' }, status: { from: 'prospect', to: 'lead' } });
    const audit = await t.db.query<{ before: { jobTitle: string | null }; after: { jobTitle: string } }>(`SELECT before, after FROM audit_log WHERE resource_id = $1 AND action = 'contact.update'`, [created.id]);
    expect(audit.rows[0]?.before.jobTitle).toBeNull();
    expect(audit.rows[0]?.after.jobTitle).toBe('CTO');
  });

  it('moves status forward freely and backwards only with force', async () => {
    const created = (await create(a, { email: 'status@example.com', status: 'customer' })).json();
    const back = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { status: 'lead' } });
    expect(back.statusCode).toBe(409);
    expect(back.json().error.code).toBe('CONTACT_STATUS_REGRESSION');
    const forced = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${created.id}`, headers: a.bearer, payload: { status: 'lead', force: true } });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().status).toBe('lead');
  });

  it('adds and removes tags with tag_added / tag_removed events', async () => {
    const created = (await create(a, { email: 'tags@example.com', tags: ['a'] })).json();
    const added = await t.app.inject({ method: 'POST', url: `/api/contacts/${created.id}/tags`, headers: a.bearer, payload: { tags: ['a', 'b', 'c'] } });
    expect(added.statusCode).toBe(200);
    expect(added.json().tags).toEqual(['a', 'b', 'c']);
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/contacts/${created.id}/tags/b`, headers: a.bearer });
    expect(removed.json().tags).toEqual(['a', 'c']);
    const events = await eventsOf(a.workspaceId, created.id);
    expect(events.filter((e) => e.name === 'tag_added').map((e) => e.properties.tag).sort()).toEqual(['a', 'b', 'c']);
    expect(events.filter((e) => e.name === 'tag_removed').map((e) => e.properties.tag)).toEqual(['b']);
  });

  it('deletes a contact (404 afterwards) with its events, and audits it', async () => {
    const created = (await create(a, { email: 'gone@example.com', tags: ['x'] })).json();
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE contact_id = $1', [created.id]);
    expect(stored.rows[0]!.n).toBeGreaterThan(0);
    const deleted = await t.app.inject({ method: 'DELETE', url: `/api/contacts/${created.id}`, headers: a.bearer });
    expect(deleted.statusCode).toBe(204);
    const read = await t.app.inject({ method: 'GET', url: `/api/contacts/${created.id}`, headers: a.bearer });
    expect(read.statusCode).toBe(404);
    expect(read.json().error.code).toBe('NOT_FOUND');
    const again = await t.app.inject({ method: 'DELETE', url: `/api/contacts/${created.id}`, headers: a.bearer });
    expect(again.statusCode).toBe(404);
    const audit = await t.db.query(`SELECT 1 FROM audit_log WHERE resource_id = $1 AND action = 'contact.delete'`, [created.id]);
    expect(audit.rows).toHaveLength(1);
    // Events carry no foreign key (migration 083): the delete itself removes them.
    const left = await t.db.query('SELECT name FROM events WHERE contact_id = $1', [created.id]);
    expect(left.rows).toEqual([]);
  });
});

describe('listing', () => {
  it('pages through every contact exactly once with an opaque cursor', async () => {
    const caller = await signUp(t.app);
    const emails = Array.from({ length: 23 }, (_, i) => `page-${i}@example.com`);
    for (const email of emails) expect((await create(caller, { email })).statusCode).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/contacts?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await t.app.inject({ method: 'GET', url, headers: caller.bearer });
      expect(page.statusCode).toBe(200);
      const body = page.json() as { contacts: Array<{ email: string }>; nextCursor: string | null };
      expect(body.contacts.length).toBeLessThanOrEqual(5);
      seen.push(...body.contacts.map((c) => c.email));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen.sort()).toEqual([...emails].sort());
  });

  it('filters by search, status, tag, score range and custom field', async () => {
    const caller = await signUp(t.app);
    await create(caller, { email: 'grace@navy.mil', firstName: 'Grace', lastName: 'Hopper', company: 'US Navy', status: 'lead', tags: ['cobol'], customFields: { plan: 'pro' } });
    await create(caller, { email: 'alan@bletchley.uk', firstName: 'Alan', company: 'Bletchley 100%', tags: ['enigma'], customFields: { plan: 'free' } });
    await create(caller, { email: 'linus@kernel.org', firstName: 'Linus', company: 'Linux.com', status: 'customer', customFields: { plan: 'pro' } });
    const emails = async (query: string) => {
      const response = await t.app.inject({ method: 'GET', url: `/api/contacts?${query}`, headers: caller.bearer });
      expect(response.statusCode).toBe(200);
      return (response.json().contacts as Array<{ email: string }>).map((c) => c.email).sort();
    };
    expect(await emails('search=NAVY')).toEqual(['grace@navy.mil']);
    expect(await emails('search=grace%20hopper')).toEqual(['grace@navy.mil']);
    expect(await emails('search=kernel.org')).toEqual(['linus@kernel.org']);
    expect(await emails('search=100%25')).toEqual(['alan@bletchley.uk']);
    expect(await emails('search=bletch')).toEqual(['alan@bletchley.uk']);
    expect(await emails('search=hop%20gra')).toEqual(['grace@navy.mil']);
    expect(await emails('search=grace%40navy.mil')).toEqual(['grace@navy.mil']);
    expect(await emails('search=avy')).toEqual([]);
    // A word followed by punctuation is complete; one followed by a space or ending the query is a prefix.
    expect(await emails('search=grace%40')).toEqual(['grace@navy.mil']);
    expect(await emails('search=gra%40')).toEqual([]);
    expect(await emails('search=navy.')).toEqual(['grace@navy.mil']);
    expect(await emails('search=nav.')).toEqual([]);
    expect(await emails('search=gra%20')).toEqual(['grace@navy.mil']);
    expect(await emails('search=linux.com')).toEqual(['linus@kernel.org']);
    expect(await emails('search=linux.co')).toEqual(['linus@kernel.org']);
    expect(await emails('search=linu.com')).toEqual([]);
    expect(await emails("search=x'%20%26%20!")).toEqual([]);
    expect(await emails('search=%25')).toHaveLength(3);
    expect(await emails('status=customer')).toEqual(['linus@kernel.org']);
    expect(await emails('tag=enigma')).toEqual(['alan@bletchley.uk']);
    expect(await emails('cf.plan=pro')).toEqual(['grace@navy.mil', 'linus@kernel.org']);
    expect(await emails('cf.plan=pro&status=lead')).toEqual(['grace@navy.mil']);
    expect(await emails('minScore=0&maxScore=100')).toHaveLength(3);
    expect(await emails('minScore=100')).toEqual([]);
    const bad = await t.app.inject({ method: 'GET', url: '/api/contacts?colour=red', headers: caller.bearer });
    expect(bad.statusCode).toBe(400);
  });
});

describe('listing phases', () => {
  it('stores as search words the runs between ASCII punctuation marks (every one of them, and only those)', async () => {
    const caller = await signUp(t.app);
    const marks = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    expect(marks).toHaveLength(32);
    // Words w0…w32 joined by each mark in turn, then letters a non-ASCII mark, é and a digit keep together.
    const company = [...marks].map((mark, i) => `w${i}${mark}`).join('') + 'w32 café x2y';
    const created = await create(caller, { email: 'punct.test@example.com', firstName: 'Ada', company });
    expect(created.statusCode).toBe(201);
    const stored = await t.db.query<{ words: string[] }>('SELECT tsvector_to_array(search_document) AS words FROM contacts WHERE id = $1', [created.json().id]);
    expect([...stored.rows[0]!.words].sort()).toEqual(['ada', 'café', 'com', 'example', 'punct', 'test', 'x2y', ...[...marks, ''].map((_, i) => `w${i}`)].sort());
  });

  it('reads a search query as words: complete when punctuation follows, prefixes otherwise', () => {
    expect(searchTerms('gra hop')).toEqual(['gra:*', 'hop:*']);
    expect(searchTerms('Person7@ Domain7.')).toEqual(['person7', 'domain7']);
    expect(searchTerms('Company 7, Inc')).toEqual(['company:*', '7', 'inc:*']);
    expect(searchTerms("x' & !")).toEqual(['x']);
    expect(searchTerms('Zoë Müller-')).toEqual(['zoë:*', 'müller']);
    expect(searchTerms('% --')).toEqual([]);
    expect(searchTerms('a b c d e f g h i j')).toHaveLength(8);
  });

  it('uses the custom-field index only for values that only a JSON string can equal', () => {
    expect(splitCustomFields({ plan: 'pro', seats: '5', ratio: '-1.5e3', on: 'true', obj: '{"a":1}', list: '[1]' })).toEqual({
      containment: '{"plan":"pro"}',
      text: '{"seats":"5","ratio":"-1.5e3","on":"true","obj":"{\\"a\\":1}","list":"[1]"}',
    });
    expect(splitCustomFields({ seats: '5' })).toEqual({ containment: null, text: '{"seats":"5"}' });
    expect(splitCustomFields({})).toEqual({ containment: null, text: null });
  });

  it('answers every filter exactly, newest first, whichever phase answers (window, candidates, ordered scan)', async () => {
    const caller = await signUp(t.app);
    for (let i = 0; i < 30; i += 1) {
      const firstName = i < 3 ? 'Rare' : i % 2 ? 'Common' : 'Other';
      const response = await create(caller, { email: `p${i}@ex${i % 3}.com`, firstName, status: i % 10 === 0 ? 'customer' : 'prospect', tags: [i < 10 ? 'old' : 'new', ...(i >= 24 || i === 3 ? ['front'] : [])], customFields: { n: String(i % 4), kind: i % 2 ? 'odd' : 'even', seats: i, vip: i === 5 } });
      expect(response.statusCode).toBe(201);
    }
    const all = await t.db.query<{ email: string; first_name: string; status: string; tags: string[]; custom_fields: { n: string; kind: string; seats: number; vip: boolean } }>(
      'SELECT email, first_name, status, tags, custom_fields FROM contacts WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC',
      [caller.workspaceId],
    );
    const cases: Array<{ filters: Omit<ContactFilters, 'limit'>; expected: (r: (typeof all.rows)[number]) => boolean }> = [
      { filters: {}, expected: () => true },
      { filters: { search: 'common' }, expected: (r) => r.first_name === 'Common' },
      { filters: { search: 'rar' }, expected: (r) => r.first_name === 'Rare' },
      { filters: { search: 'ex1' }, expected: (r) => r.email.endsWith('@ex1.com') },
      { filters: { search: 'p7@ex1.com' }, expected: (r) => r.email === 'p7@ex1.com' },
      { filters: { tag: 'old' }, expected: (r) => r.tags.includes('old') },
      // Dense among the newest, then sparse: a widened window falls short and the reading goes on.
      { filters: { tag: 'front' }, expected: (r) => r.tags.includes('front') },
      { filters: { status: 'customer' }, expected: (r) => r.status === 'customer' },
      { filters: { customFields: { n: '3' }, search: 'com' }, expected: (r) => r.custom_fields.n === '3' && r.first_name === 'Common' },
      { filters: { customFields: { kind: 'odd' } }, expected: (r) => r.custom_fields.kind === 'odd' },
      { filters: { customFields: { kind: 'odd', seats: '7' } }, expected: (r) => r.custom_fields.seats === 7 },
      { filters: { customFields: { vip: 'true' } }, expected: (r) => r.custom_fields.vip },
      { filters: { search: 'common p1' }, expected: (r) => r.first_name === 'Common' && r.email.startsWith('p1') },
      { filters: { search: 'p2 ex2' }, expected: (r) => r.email.startsWith('p2') && r.email.endsWith('@ex2.com') },
      { filters: { search: 'nobody' }, expected: () => false },
    ];
    // Tiny windows and caps force every phase on 30 contacts: the window alone, widened windows
    // (going on after one that fell short), capped candidates (with and without rare words
    // driving the index), the ordered scan.
    const plans = [
      { window: 4, candidateCap: 5, maxWindow: 0, randomFetchCost: 1 },
      { window: 2, candidateCap: 100, maxWindow: 1000, randomFetchCost: 1e9 },
      { window: 3, candidateCap: 2, maxWindow: 8, randomFetchCost: 1e9 },
      { window: 1000, candidateCap: 1000, maxWindow: 1000, randomFetchCost: 1 },
    ];
    for (const plan of plans) {
      for (const { filters, expected } of cases) {
        for (const limit of [1, 4, 7]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await listContacts(t.db, caller.workspaceId, { ...filters, limit, cursor }, plan);
            expect(page.contacts.length).toBeLessThanOrEqual(limit);
            seen.push(...page.contacts.map((c) => c.email));
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          expect({ plan, filters, limit, seen }).toEqual({ plan, filters, limit, seen: all.rows.filter(expected).map((r) => r.email) });
        }
      }
    }
  });
});

describe('timeline', () => {
  it('merges events and emails newest first', async () => {
    const created = (await create(a, { email: 'timeline@example.com', tags: ['x'] })).json();
    await t.db.query(
      `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, created_at)
       VALUES ($1, $2, 'tl-1', 'test', 'from@example.com', 'timeline@example.com', 'Welcome', '<p>Hi</p>', 'Hi', now() + interval '1 hour')`,
      [a.workspaceId, created.id],
    );
    const response = await t.app.inject({ method: 'GET', url: `/api/contacts/${created.id}/timeline?limit=2`, headers: a.bearer });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.items[0]).toMatchObject({ kind: 'message', subject: 'Welcome', status: 'queued' });
    expect(body.items[1].kind).toBe('event');
    expect(body.nextCursor).not.toBeNull();
    const rest = await t.app.inject({ method: 'GET', url: `/api/contacts/${created.id}/timeline?limit=10&cursor=${encodeURIComponent(body.nextCursor)}`, headers: a.bearer });
    const names = rest.json().items.map((i: { name: string }) => i.name);
    expect([body.items[1].name, ...names].sort()).toEqual(['contact_created', 'tag_added']);
  });

  it('shows the campaign steps too, and pages through all three sources exactly once, newest first', async () => {
    const caller = await signUp(t.app);
    const contactId = (await create(caller, { email: 'journey@example.com' })).json().id as string;
    const definition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: 'onboarded' } },
        { id: 'x', type: 'exit', config: { reason: 'done' } },
      ],
      edges: [
        { from: 't', to: 'tag' },
        { from: 'tag', to: 'x' },
      ],
    };
    const campaign = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name: 'Onboarding', definition } })).json().campaign.id as string;
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign}/publish`, headers: caller.bearer })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaign}/enroll`, headers: caller.bearer, payload: { contactIds: [contactId] } })).statusCode).toBe(200);
    await engineOf(t).runDue();

    const all = (await t.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/timeline?limit=200`, headers: caller.bearer })).json().items as Array<{ kind: string; id: string; at: string; nodeId?: string; campaignName?: string; outcome?: string; name?: string }>;
    expect(all.filter((i) => i.kind === 'step').map((i) => `${i.campaignName}:${i.nodeId}:${i.outcome}`).sort()).toEqual(['Onboarding:t:completed', 'Onboarding:tag:completed', 'Onboarding:x:completed']);
    expect(all.filter((i) => i.kind === 'event').map((i) => i.name).sort()).toEqual(['contact_created', 'tag_added']);
    // Steps of one run share their time with the events they recorded: pages of one item still see
    // each item once, in the same order as one page of all.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ kind: string; id: string }>; nextCursor: string | null } = (await t.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/timeline?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers: caller.bearer })).json();
      paged.push(...page.items.map((i: { kind: string; id: string }) => `${i.kind}:${i.id}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.map((i) => `${i.kind}:${i.id}`));
    const times = all.map((i) => Date.parse(i.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });
});

describe('access', () => {
  it('hides another workspace’s contacts: read, update, delete, tag and timeline are 404', async () => {
    const b = await signUp(t.app);
    const created = (await create(a, { email: 'private@example.com' })).json();
    const id = created.id as string;
    const attempts = [
      { method: 'GET' as const, url: `/api/contacts/${id}` },
      { method: 'PATCH' as const, url: `/api/contacts/${id}`, payload: { firstName: 'Hacked' } },
      { method: 'DELETE' as const, url: `/api/contacts/${id}` },
      { method: 'POST' as const, url: `/api/contacts/${id}/tags`, payload: { tags: ['x'] } },
      { method: 'GET' as const, url: `/api/contacts/${id}/timeline` },
    ];
    for (const attempt of attempts) {
      const response = await t.app.inject({ ...attempt, headers: b.bearer });
      expect(response.statusCode, `${attempt.method} ${attempt.url}`).toBe(404);
    }
    const list = await t.app.inject({ method: 'GET', url: '/api/contacts?search=private', headers: b.bearer });
    expect(list.json().contacts).toEqual([]);
    const same = await create(b, { email: 'private@example.com' });
    expect(same.statusCode).toBe(201);
    const intact = await t.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: a.bearer });
    expect(intact.json().firstName).toBeNull();
  });

  it('lets a viewer read but not write (403)', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: a.session, payload: { name: 'viewer', role: 'viewer' } });
    const viewer = { authorization: `Bearer ${key.json().key}` };
    const list = await t.app.inject({ method: 'GET', url: '/api/contacts', headers: viewer });
    expect(list.statusCode).toBe(200);
    const write = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: viewer, payload: { email: 'viewer-made@example.com' } });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('FORBIDDEN');
    const id = list.json().contacts[0].id;
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/contacts/${id}`, headers: viewer, payload: { firstName: 'x' } });
    expect(patch.statusCode).toBe(403);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/contacts/${id}`, headers: viewer });
    expect(del.statusCode).toBe(403);
  });

  it('works with a session cookie and CSRF token', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: a.session, payload: { email: 'session-made@example.com' } });
    expect(response.statusCode).toBe(201);
    const unauth = await t.app.inject({ method: 'GET', url: '/api/contacts' });
    expect(unauth.statusCode).toBe(401);
  });
});
