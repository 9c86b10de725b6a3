/**
 * Guardian in a real browser (Debian's Chromium): the Health tab with its charts and table, a rule
 * created in the rule editor (after a refused threshold shown beside its field), triggered by
 * seeded sends and bounces and the evaluator's next round, the alert opened from the Alerts tab
 * and acknowledged, with its timeline. axe-core checks each page: no serious or critical issue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../../src/platform/clock.js';
import { seedOutcomes, seedSends } from '../guardian-helpers.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations } from './browser.js';

describe.skipIf(!browserTestsEnabled)('Guardian pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  const clock = new ManualClock(new Date());
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp({ clock });
    owner = await signUp(t.app, 'Olive Owner');
    // An hour of sending history for the Health tab.
    await seedSends(t.db, owner.workspaceId, 120, new Date(clock.now().getTime() - 50 * 60_000), { provider: 'postmark' });
    await seedOutcomes(t.db, owner.workspaceId, 'bounced', 3, new Date(clock.now().getTime() - 40 * 60_000), { provider: 'postmark' });
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
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
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('creates a rule, sees it fire on a bounce storm, and acknowledges the alert', async () => {
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.waitForURL(`${baseUrl}/guardian/rules`);
    await expect.poll(() => page.getByRole('table', { name: 'Alert rules' }).getByRole('row').count()).toBeGreaterThan(7);
    expect(await seriousAxeViolations(page)).toEqual([]);
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
    expect(await seriousAxeViolations(page)).toEqual([]);
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
    expect(await seriousAxeViolations(page)).toEqual([]);
    await link.click();
    await page.waitForURL(/\/guardian\/alerts\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Alert timeline' }).textContent()).toContain('Acknowledged');
    expect(await page.locator('.facts').textContent()).toContain('Acknowledged');
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
