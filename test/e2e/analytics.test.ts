/**
 * The reports in Chromium: a campaign with an A/B split run here by the real engine and sender
 * (8 contacts, opens by people and by a privacy proxy, a click, two goal conversions), then the
 * dashboard (the landing page after log-in), the campaign list with its numbers, sorted, and the
 * campaign's report (funnel, emails, variants, CSV link) show those numbers; axe-core finds no
 * serious or critical issue on any of them, and no CSP violation is logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { recordClick, recordOpen } from '../../src/email/engagement.js';
import { engineOf } from '../campaign-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations } from './browser.js';

const HUMAN = { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15', ip: '203.0.113.9' };
const PROXY = { userAgent: 'Mozilla/5.0 (Windows NT 5.1) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', ip: '66.249.1.1' };

const definition = {
  entryNodeId: 'start',
  nodes: [
    { id: 'start', type: 'trigger', name: 'Start', config: { kind: 'manual' } },
    { id: 'ab', type: 'split', name: 'Subject test', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] } },
    { id: 'mailA', type: 'email', config: { subject: 'Spring offer A', html: '<p>A</p>' } },
    { id: 'mailB', type: 'email', config: { subject: 'Spring offer B', html: '<p>B</p>' } },
    { id: 'wait', type: 'wait', name: 'Give it a week', config: { kind: 'duration', seconds: 7 * 86_400 } },
    { id: 'end', type: 'exit', name: 'Done', config: {} },
  ],
  edges: [
    { from: 'start', to: 'ab' },
    { from: 'ab', to: 'mailA', handle: 'a' },
    { from: 'ab', to: 'mailB', handle: 'b' },
    { from: 'mailA', to: 'wait' },
    { from: 'mailB', to: 'wait' },
    { from: 'wait', to: 'end' },
  ],
  settings: { goal: { eventName: 'purchased' } },
};

describe.skipIf(!browserTestsEnabled)('reports in Chromium', () => {
  let t: TestApp;
  let owner: Caller;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let campaignId: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    owner = await signUp(t.app, 'Ada Owner');
    const contacts: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: owner.bearer, payload: { email: `reader${i}@example.com`, firstName: `Reader ${i}` } });
      contacts.push(r.json().id as string);
    }
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: owner.bearer, payload: { name: 'Spring offer', definition } });
    campaignId = created.json().campaign.id as string;
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/publish`, headers: owner.bearer });
    await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: owner.bearer, payload: { contactIds: contacts } });
    await engineOf(t).runDue();
    await t.runtime.deps.email.sender.runOnce();
    const sent = (await t.db.query<{ id: string; contact_id: string }>(`SELECT id, contact_id FROM messages WHERE workspace_id = $1 AND source_type = 'campaign' ORDER BY id`, [owner.workspaceId])).rows;
    expect(sent).toHaveLength(8);
    const sink = t.runtime.deps.eventSink;
    const now = () => new Date();
    for (const m of sent.slice(0, 4)) await recordOpen(t.db, sink, { t: 'o', w: owner.workspaceId, m: m.id, c: m.contact_id }, HUMAN, now());
    for (const m of sent.slice(4, 6)) await recordOpen(t.db, sink, { t: 'o', w: owner.workspaceId, m: m.id, c: m.contact_id }, PROXY, now());
    await recordClick(t.db, sink, { t: 'c', w: owner.workspaceId, m: sent[0]!.id, c: sent[0]!.contact_id, u: 'https://example.com/spring' }, HUMAN, now());
    for (const m of sent.slice(0, 2)) await t.app.inject({ method: 'POST', url: '/api/events', headers: owner.bearer, payload: { contactId: m.contact_id, name: 'purchased' } });

    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const stat = (label: string) => page.getByRole('term').filter({ hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]');

  it('lands on the dashboard with the numbers of the campaign', async () => {
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await stat('Emails sent').waitFor();
    expect(await stat('Contacts').textContent()).toContain('8');
    expect(await stat('Emails sent').textContent()).toBe('8');
    // 4 of 8 opened by people; the proxy's opens are left out.
    expect(await stat('Open rate').textContent()).toContain('50 %');
    expect(await stat('Click rate').textContent()).toContain('1 clicked');
    const active = page.getByRole('region', { name: 'Active campaigns' });
    await active.getByRole('link', { name: 'Spring offer' }).waitFor();
    expect(await active.getByRole('row').nth(1).textContent()).toContain('25 %'); // conversion: 2 of 8
    await page.getByText('Show the numbers as a table').first().click();
    expect(await page.locator('.chart svg').count()).toBeGreaterThan(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('lists the campaign with its numbers and sorts by a column', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.waitForURL(`${baseUrl}/campaigns`);
    const row = page.getByRole('row').filter({ hasText: 'Spring offer' });
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells).toContain('8');
    expect(cells).toContain('50 %');
    expect(cells).toContain('12.5 %');
    expect(cells).toContain('25 %');
    await page.getByRole('button', { name: 'Sent' }).click();
    expect(await page.getByRole('columnheader', { name: /Sent/ }).first().getAttribute('aria-sort')).toBe('descending');
    expect(await row.getByRole('img', { name: /Emails sent by Spring offer: 8 in 14 days/ }).count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('opens the report from the campaign page: funnel, emails, variants, CSV', async () => {
    await page.getByRole('link', { name: 'Spring offer' }).click();
    await page.getByRole('link', { name: 'Report' }).click();
    await page.waitForURL(`${baseUrl}/campaigns/${campaignId}/report`);
    await page.getByRole('heading', { name: 'Spring offer: report' }).waitFor();
    const journey = page.getByRole('table', { name: 'Journey steps' });
    await journey.waitFor();
    const startRow = await journey.getByRole('row').filter({ hasText: 'Start' }).getByRole('cell').allTextContents();
    expect(startRow[0]).toBe('8');
    const split = await journey.getByRole('row').filter({ hasText: 'Subject test' }).getByRole('cell').allTextContents();
    expect(split.slice(0, 2)).toEqual(['8', '100 %']);
    const waitRow = await journey.getByRole('row').filter({ hasText: 'Give it a week' }).getByRole('cell').allTextContents();
    expect(waitRow[0]).toBe('8');
    expect(waitRow[4]).toBe('2'); // converted there
    const variants = page.getByRole('table', { name: 'Variants of split ab' });
    const assigned = (await variants.getByRole('row').allTextContents()).slice(1);
    expect(assigned).toHaveLength(2);
    expect(await stat('Converted').textContent()).toContain('2 reached the goal');
    const csv = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const response = await page.request.get(`${baseUrl}${csv}`);
    expect(response.status()).toBe(200);
    expect(await response.text()).toContain('email,mailA');
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
