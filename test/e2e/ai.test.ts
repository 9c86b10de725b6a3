/**
 * The AI pages in a real browser (Debian's Chromium): a template personalized offline beside the
 * original in the template editor, a budget and a policy set on the AI page, a generated variant
 * approved from the review queue, and the usage log listing the calls.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { enqueueEmail } from '../../src/email/outbox.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true';
const root = path.resolve(import.meta.dirname, '../..');

describe.skipIf(!hasChromium && !mustRun)('AI pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let contactId: string;
  let templateId: string;
  const browserErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist/web/index.html'))) {
      const { build } = await import('vite');
      const nodeEnv = process.env.NODE_ENV;
      await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
      process.env.NODE_ENV = nodeEnv;
    }
    t = await createTestApp();
    owner = await signUp(t.app, 'Ada Owner');
    const contact = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: owner.bearer, payload: { email: 'grace@example.com', firstName: 'Grace', company: 'Navy', jobTitle: 'Admiral' } });
    contactId = contact.json().id;
    const template = await t.app.inject({ method: 'POST', url: '/api/templates', headers: owner.bearer, payload: { name: 'Spring', subject: 'Spring offer', html: '<p>See <a href="https://shop.example.com/spring">the offer</a>.</p>' } });
    templateId = template.json().id;
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = address.replace('localhost', '127.0.0.1');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') browserErrors.push(message.text());
    });
    page.on('pageerror', (error) => browserErrors.push(error.message));
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${baseUrl}/dashboard`);
    // The login page's session check answers 401 before logging in; only errors after it count.
    browserErrors.length = 0;
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
