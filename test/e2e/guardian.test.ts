/**
 * Guardian in a real browser (Debian's Chromium): the Health tab with its charts and table, a rule
 * created in the rule editor (after a refused threshold shown beside its field), triggered by
 * seeded sends and bounces and the evaluator's next round, the alert opened from the Alerts tab
 * and acknowledged, with its timeline. axe-core checks each page: no serious or critical issue.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ManualClock } from '../../src/platform/clock.js';
import { seedOutcomes, seedSends } from '../guardian-helpers.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true';
const root = path.resolve(import.meta.dirname, '../..');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe-core violations on the page as it is now. */
async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') stays in force.
  await page.evaluate(`${axeSource};0`);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as { violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }> };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

describe.skipIf(!hasChromium && !mustRun)('Guardian pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  const clock = new ManualClock(new Date());
  const browserErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist/web/index.html'))) {
      const { build } = await import('vite');
      const nodeEnv = process.env.NODE_ENV;
      await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
      process.env.NODE_ENV = nodeEnv;
    }
    t = await createTestApp({ clock });
    owner = await signUp(t.app, 'Olive Owner');
    // An hour of sending history for the Health tab.
    await seedSends(t.db, owner.workspaceId, 120, new Date(clock.now().getTime() - 50 * 60_000), { provider: 'postmark' });
    await seedOutcomes(t.db, owner.workspaceId, 'bounced', 3, new Date(clock.now().getTime() - 40 * 60_000), { provider: 'postmark' });
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
    browserErrors.length = 0;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows sending health as charts and a table', async () => {
    await page.getByRole('link', { name: 'Guardian' }).click();
    await page.waitForURL(`${baseUrl}/guardian`);
    await expect.poll(() => page.getByRole('img', { name: 'Bounce rate' }).count()).toBe(1);
    const table = page.getByRole('table', { name: 'Sending health per period and provider' });
    await expect.poll(() => table.getByRole('row').count()).toBeGreaterThanOrEqual(2);
    expect(await table.textContent()).toContain('postmark');
    expect(await axeProblems(page)).toEqual([]);
  });

  it('creates a rule, sees it fire on a bounce storm, and acknowledges the alert', async () => {
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.waitForURL(`${baseUrl}/guardian/rules`);
    await expect.poll(() => page.getByRole('table', { name: 'Alert rules' }).getByRole('row').count()).toBeGreaterThan(7);
    expect(await axeProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'New rule' }).click();
    await page.waitForURL(`${baseUrl}/guardian/rules/new`);
    await page.getByLabel('Name').fill('Postmark bounces over 10 %');
    await page.getByLabel('Signal').selectOption('bounce_rate');
    await page.getByLabel('Threshold (%)').fill('150');
    await page.getByLabel('Over the last').fill('30');
    await page.getByLabel('Window unit').selectOption({ label: 'minutes' });
    await page.getByLabel('Only with at least this many sends').fill('50');
    await page.getByLabel('Severity').selectOption('critical');
    await page.getByRole('button', { name: 'Create rule' }).click();
    // The server's refusal, in words, beside the field.
    await expect.poll(() => page.locator('#field-threshold-error').textContent()).toContain('percentage from 0 to 100');
    expect(await axeProblems(page)).toEqual([]);
    // The refused request itself is logged by the browser as a failed resource: expected here.
    expect(browserErrors.splice(0).every((e) => e.includes('status of 400'))).toBe(true);
    await page.getByLabel('Threshold (%)').fill('10');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.waitForURL(/\/guardian\/rules\/[0-9a-f-]{36}$/);

    // A storm: 60 sends, 30 bounces in the last minutes; the evaluator's next round fires the rule.
    await seedSends(t.db, owner.workspaceId, 60, new Date(clock.now().getTime() - 60_000), { provider: 'postmark' });
    await seedOutcomes(t.db, owner.workspaceId, 'bounced', 30, clock.now(), { provider: 'postmark' });
    clock.advance(61_000);
    const round = await t.runtime.guardianEvaluator.runRound();
    expect(round.fired).toBeGreaterThanOrEqual(1);

    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${baseUrl}/guardian/alerts`);
    const link = page.getByRole('link', { name: 'Postmark bounces over 10 %' });
    await link.waitFor();
    expect(await axeProblems(page)).toEqual([]);
    await link.click();
    await page.waitForURL(/\/guardian\/alerts\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Alert timeline' }).textContent()).toContain('Acknowledged');
    expect(await page.locator('.facts').textContent()).toContain('Acknowledged');
    expect(await axeProblems(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
