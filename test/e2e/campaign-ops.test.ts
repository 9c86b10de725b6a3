/**
 * Campaign operations in a real browser (Debian's Chromium), as a marketer would: an email step
 * takes its content from a saved template (previewed), publishing shows the review dialog, a
 * whole segment is enrolled after its count is shown, the campaign is paused and resumed, a
 * described contact is simulated with each step explained, a real contact's journey is opened,
 * and a scheduled broadcast is listed and cancelled. axe-core checks each view: no serious or
 * critical issue.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { engineOf } from '../campaign-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, screenshotDir, seriousAxeViolations } from './browser.js';

describe.skipIf(!browserTestsEnabled)('campaign operations in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let campaignId: string;
  let broadcastId: string;
  let browserErrors: string[] = [];

  const api = async <T = { id: string }>(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<T> => {
    const response = await t.app.inject({ method, url, headers: owner.bearer, ...(payload ? { payload } : {}) });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json() as T;
  };

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    owner = await signUp(t.app, 'Olive Owner');
    for (const [email, firstName] of [
      ['ada@example.com', 'Ada'],
      ['grace@example.com', 'Grace'],
    ]) {
      await api('POST', '/api/contacts', { email, firstName, tags: ['vip'] });
    }
    const segment = await api('POST', '/api/segments', { name: 'VIP customers', kind: 'dynamic', definition: { match: 'all', conditions: [{ kind: 'tag', op: 'has', tag: 'vip' }] } });
    await api('POST', '/api/templates', { name: 'Spring welcome', subject: 'Welcome, {{ contact.first_name }}', html: '<p>Hello from the spring team</p>' });
    const campaign = await api<{ campaign: { id: string } }>('POST', '/api/campaigns', {
      name: 'Spring onboarding',
      definition: {
        entryNodeId: 'start',
        nodes: [
          { id: 'start', type: 'trigger', name: 'Start', config: { kind: 'manual' } },
          { id: 'hello', type: 'email', name: 'Hello email', config: { subject: 'Draft subject', html: '<p>Draft</p>' } },
          { id: 'pause', type: 'wait', name: 'Two days', config: { kind: 'duration', seconds: 2 * 86_400 } },
          { id: 'done', type: 'exit', name: 'Done', config: {} },
        ],
        edges: [
          { from: 'start', to: 'hello' },
          { from: 'hello', to: 'pause' },
          { from: 'pause', to: 'done' },
        ],
      },
    });
    campaignId = campaign.campaign.id;
    const broadcast = await api<{ campaign: { id: string } }>('POST', '/api/campaigns', {
      name: 'Spring newsletter',
      definition: {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'broadcast', segmentId: segment.id, at: new Date(Date.now() + 3 * 86_400_000).toISOString() } },
          { id: 'mail', type: 'email', config: { subject: 'News', html: '<p>News</p>' } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [
          { from: 't', to: 'mail' },
          { from: 'mail', to: 'x' },
        ],
      },
    });
    broadcastId = broadcast.campaign.id;
    await api('POST', `/api/campaigns/${broadcastId}/publish`);

    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1400, height: 1000 }, logInAs: owner }));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('gives an email step the content of a saved template, previewed, and publishes after review', async () => {
    await page.goto(`${baseUrl}/campaigns/${campaignId}`);
    await page.getByRole('heading', { name: 'Spring onboarding', level: 1 }).waitFor();
    await page.getByTestId('node-hello').click();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    const picker = panel.getByLabel('Template');
    await picker.locator('option', { hasText: 'Spring welcome' }).waitFor({ state: 'attached' });
    await picker.selectOption({ label: 'Spring welcome' });
    expect(await panel.getByLabel('Subject').inputValue()).toBe('Welcome, {{ contact.first_name }}');
    await panel.getByRole('button', { name: 'Preview' }).click();
    await panel.getByTitle('Template preview').waitFor();
    expect(await panel.getByRole('link', { name: 'Edit template' }).getAttribute('href')).toMatch(new RegExp(`returnTo=%2Fcampaigns%2F${campaignId}%3Fstep%3Dhello$`));
    // The "edit template" round trip comes back to the email step it left from, selected.
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();
    await panel.getByRole('link', { name: 'Edit template' }).click();
    await page.getByRole('link', { name: '← Back to the campaign' }).click();
    await panel.getByRole('heading', { name: 'Email: Hello email' }).waitFor();
    await page.waitForURL(`${baseUrl}/campaigns/${campaignId}`);
    await page.screenshot({ path: path.join(screenshotDir, 'back-from-template.png') });
    await panel.getByLabel('Notes').fill('Copy approved by the brand team');
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Publish…' }).click();
    const dialog = page.getByRole('dialog', { name: /Publish/ });
    await dialog.getByText('This is the first version').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Publish now' }).click();
    await page.getByText('Published version 1: new enrollments follow it.').waitFor();

    const detail = await api<{ campaign: { status: string }; definition: { nodes: Array<{ id: string; notes?: string; config: Record<string, unknown> }> } }>('GET', `/api/campaigns/${campaignId}`);
    expect(detail.campaign.status).toBe('active');
    const hello = detail.definition.nodes.find((n) => n.id === 'hello')!;
    expect(hello.config).toMatchObject({ subject: 'Welcome, {{ contact.first_name }}', html: '<p>Hello from the spring team</p>' });
    expect(hello.config.templateId).toMatch(/^[0-9a-f-]{36}$/);
    expect(hello.notes).toBe('Copy approved by the brand team');
  });

  it('enrolls a whole segment after showing how many contacts it holds', async () => {
    await page.getByRole('button', { name: 'Enroll contacts' }).click();
    const form = page.getByRole('form', { name: 'Enroll contacts' });
    await form.getByLabel('Segment').locator('option', { hasText: 'VIP customers' }).waitFor({ state: 'attached' });
    await form.getByLabel('Segment').selectOption({ label: 'VIP customers (2 members)' });
    const count = form.getByTestId('audience-count');
    await count.waitFor();
    expect(await count.textContent()).toContain('2 contacts match; 2 can enter now');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await form.getByRole('button', { name: 'Enroll them' }).click();
    await page.getByText('Enrolled 2 contacts.').waitFor();
    await engineOf(t).runDue();
  });

  it('pauses and resumes the campaign', async () => {
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByText(/^Paused: nobody moves on/).waitFor();
    await page.getByText('Paused', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByText(/^Resumed: contacts move on/).waitFor();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    const detail = await api<{ campaign: { status: string } }>('GET', `/api/campaigns/${campaignId}`);
    expect(detail.campaign.status).toBe('active');
  });

  it('simulates a described contact and explains each step', async () => {
    await page.getByRole('tab', { name: 'Simulate' }).click();
    await page.getByLabel('First name').fill('Linus');
    await page.getByRole('button', { name: 'Run simulation' }).click();
    const path = page.getByRole('list', { name: 'Simulated path' });
    await path.waitFor();
    const steps = await path.getByTestId('path-step').allTextContents();
    expect(steps).toHaveLength(4);
    expect(steps[0]).toContain('Entered: Manual enrollment');
    expect(steps[1]).toContain('Sent “Welcome, Linus”');
    expect(steps[2]).toContain('Waited 2 days');
    expect(steps[3]).toContain('Left the campaign');
    await page.getByText(/The contact finished the campaign/).waitFor();
    // The canvas lights up the simulated path.
    await expect.poll(() => page.locator('.card-lit').count()).toBe(4);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it("opens a real contact's journey with timestamps", async () => {
    await page.getByRole('tab', { name: 'Contacts & journeys' }).click();
    await page.getByRole('button', { name: 'Show the journey of Ada' }).click();
    const journey = page.getByRole('list', { name: 'Journey of Ada' });
    await journey.waitFor();
    const steps = await journey.getByTestId('path-step').allTextContents();
    expect(steps[0]).toContain('Entered: Manual enrollment');
    expect(steps[1]).toContain('Sent “Welcome, Ada”');
    expect(await journey.getByTestId('path-current').textContent()).toContain('Two days');
    expect(await journey.locator('time').count()).toBe(2);
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Any contact is found by name: the list narrows to their enrollment.
    await page.getByRole('button', { name: 'Close journey' }).click();
    await page.getByLabel('Find a contact').fill('grace');
    await page.getByLabel('Contact', { exact: true }).locator('option', { hasText: 'grace@example.com' }).waitFor({ state: 'attached' });
    await page.getByLabel('Contact', { exact: true }).selectOption({ label: 'Grace (grace@example.com)' });
    await expect.poll(() => page.getByRole('button', { name: /^Show the journey of/ }).count()).toBe(1);
    await page.getByRole('button', { name: 'Show the journey of Grace' }).click();
    const graces = page.getByRole('list', { name: 'Journey of Grace' });
    await graces.waitFor();
    expect((await graces.getByTestId('path-step').allTextContents())[1]).toContain('Sent “Welcome, Grace”');
  });

  it('lists a scheduled broadcast and cancels it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.waitForURL(`${baseUrl}/campaigns`);
    const table = page.getByRole('table', { name: 'Broadcasts' });
    await table.waitFor();
    const row = table.getByTestId('broadcast-row');
    expect(await row.textContent()).toContain('Spring newsletter');
    expect(await row.textContent()).toContain('VIP customers');
    expect(await row.textContent()).toContain('Scheduled');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await row.getByRole('button', { name: /Cancel broadcast: Spring newsletter/ }).click();
    await page.getByText('Broadcast cancelled: nobody will be enrolled by it.').waitFor();
    await expect.poll(() => row.textContent()).toContain('Cancelled');
    const list = await api<{ broadcasts: Array<{ status: string }> }>('GET', `/api/campaigns/broadcasts?campaignId=${broadcastId}`);
    expect(list.broadcasts.map((b) => b.status)).toEqual(['cancelled']);
    expect(browserErrors).toEqual([]);
  });
});
