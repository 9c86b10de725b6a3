/**
 * The AI pages in a real browser (Debian's Chromium): a template personalized offline beside the
 * original in the template editor, a budget and a policy set on the AI page, a generated variant
 * approved from the review queue, and the usage log listing the calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { enqueueEmail } from '../../src/email/outbox.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser } from './browser.js';

describe.skipIf(!browserTestsEnabled)('AI pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let contactId: string;
  let templateId: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    owner = await signUp(t.app, 'Ada Owner');
    const contact = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: owner.bearer, payload: { email: 'grace@example.com', firstName: 'Grace', company: 'Navy', jobTitle: 'Admiral' } });
    contactId = contact.json().id;
    const template = await t.app.inject({ method: 'POST', url: '/api/templates', headers: owner.bearer, payload: { name: 'Spring', subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>' } });
    templateId = template.json().id;
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('previews a template personalized offline next to the original', async () => {
    await page.goto(`${baseUrl}/email/templates/${templateId}`);
    await page.getByLabel('For contact').selectOption(contactId);
    await page.getByRole('button', { name: 'Personalize offline' }).click();
    await expect(page.getByTestId('ai-personalized-subject').textContent()).resolves.toBe('Grace, spring offer');
    await expect(page.getByTestId('ai-original-subject').textContent()).resolves.toBe('Spring offer');
  });

  it('sets a budget and a policy, approves a variant from the review queue and reads the usage log', async () => {
    await page.goto(`${baseUrl}/ai`);
    await page.getByLabel('Monthly limit (empty: none)').fill('5');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await page.getByText('Budget saved.').waitFor();
    await page.getByText('of 5.00').waitFor();
    await page.getByLabel('Require approval').check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    const policy = await t.app.inject({ method: 'GET', url: '/api/ai/policy', headers: owner.bearer });
    expect(policy.json().requireApproval).toBe(true);

    // A campaign email marked for offline personalization: generated, held for review, original sent.
    await enqueueEmail(t.db, { workspaceId: owner.workspaceId, contactId, idempotencyKey: 'e2e-ai-1', sourceType: 'campaign', sourceId: null, from: 'a@unitehub.local', to: 'grace@example.com', subject: 'Spring offer', html: '<p>See the offer.</p>', text: 'See the offer.', aiMode: 'offline' });
    await t.runtime.deps.email.sender.runOnce();
    await page.reload();
    await page.getByRole('article', { name: 'Variant Grace, spring offer' }).waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Nothing waits for review.').waitFor();
    const approved = await t.app.inject({ method: 'GET', url: '/api/ai/reviews?status=approved', headers: owner.bearer });
    expect(approved.json().variants).toHaveLength(1);

    const calls = page.getByRole('table', { name: 'AI calls' });
    await calls.getByRole('row').nth(2).waitFor();
    expect(await calls.getByRole('row').count()).toBe(3); // header + the preview + the campaign email
    await expect(calls.textContent()).resolves.toContain('offline/rules-v1');
    await page.getByRole('img', { name: 'Calls per day by model' }).waitFor();
    expect(browserErrors).toEqual([]);
  });

  it('lets an admin add a model’s price and change one, with errors worded for people, and audits it', async () => {
    await page.goto(`${baseUrl}/ai`);
    const prices = page.getByRole('table', { name: 'AI prices' });
    await prices.getByRole('row', { name: /gpt-4o-mini/ }).waitFor();
    const form = page.getByRole('form', { name: 'AI price' });
    await form.getByLabel('Model name').fill('llama3.1');
    await form.getByLabel('Input per million tokens').fill('-1');
    await form.getByLabel('Output per million tokens').fill('cheap');
    await form.getByRole('button', { name: 'Save price' }).click();
    await page.getByText('The input price cannot be negative; use 0 for a model that costs nothing.').waitFor();
    await page.getByText('Enter the output price per million tokens as a number; use 0 for a local model such as Ollama.').waitFor();
    expect((await t.app.inject({ method: 'GET', url: '/api/ai/prices', headers: owner.bearer })).json().prices.some((p: { model: string }) => p.model === 'llama3.1')).toBe(false);

    await form.getByLabel('Input per million tokens').fill('0');
    await form.getByLabel('Output per million tokens').fill('0');
    await form.getByRole('button', { name: 'Save price' }).click();
    await page.getByText('Price saved for llama3.1.').waitFor();
    await expect(prices.getByRole('row', { name: /llama3\.1/ }).textContent()).resolves.toContain('yours');

    await page.getByRole('button', { name: 'Edit the price of gpt-4o-mini' }).click();
    await expect(form.getByLabel('Model name').inputValue()).resolves.toBe('gpt-4o-mini');
    await form.getByLabel('Input per million tokens').fill('0.2');
    await form.getByRole('button', { name: 'Save price' }).click();
    await page.getByText('Price saved for gpt-4o-mini.').waitFor();
    const stored = (await t.app.inject({ method: 'GET', url: '/api/ai/prices', headers: owner.bearer })).json().prices as Array<{ model: string; inputPerMTok: number; outputPerMTok: number; source: string }>;
    expect(stored.find((p) => p.model === 'gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini', inputPerMTok: 0.2, outputPerMTok: 0.6, source: 'workspace' });
    // The audit log answers stored rows (snake_case until issue 14 maps them); either spelling is read.
    const audit = (await t.app.inject({ method: 'GET', url: '/api/audit-log?limit=20', headers: owner.bearer })).json() as { entries: Array<{ action: string; resourceId?: string; resource_id?: string }> };
    expect(audit.entries.filter((e) => e.action === 'ai.price.update').map((e) => e.resourceId ?? e.resource_id).sort()).toEqual(['openai:gpt-4o-mini', 'openai:llama3.1']);
    expect(browserErrors).toEqual([]);
  });
});
