/**
 * Guardian notifications in a real browser (Debian's Chromium via playwright-core) against the real
 * app on a test database: create a webhook channel (its signing secret shown once, then used by a
 * local receiver that verifies with the `standardwebhooks` package), send it a test and see the
 * outcome, read the delivery log with the attempt expanded, and see an alert's in-app notification
 * in the top bar's notification centre and mark it read. axe-core finds no serious or critical
 * violation on these pages. Builds the web app first when dist/web is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers.js';
import { fireAlert, insertRule, startWebhookReceiver, type WebhookReceiver } from '../guardian-support.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations } from './browser.js';

describe.skipIf(!browserTestsEnabled)('Guardian notifications in Chromium', () => {
  let testApp: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let receiver: WebhookReceiver;
  let secret: string | null = null;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    receiver = await startWebhookReceiver(() => secret);
    // The receiver listens on this machine: allowed by the operator setting, as in tests.
    testApp = await createTestApp({ config: { GUARDIAN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true' } });
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(testApp, { viewport: { width: 1280, height: 800 }, extraArgs: ['--disable-component-update'] }));
  });

  afterAll(async () => {
    await browser?.close();
    await testApp?.close();
    await receiver?.close();
  });

  it('creates a webhook channel, shows its secret once, and test-sends to a verifying receiver', async () => {
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Organization').fill('Compilers Inc');
    await page.getByLabel('Work email').fill(`guardian-e2e-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${baseUrl}/dashboard`);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Guardian' }).click();
    await page.waitForURL(`${baseUrl}/guardian`);
    await page.getByRole('navigation', { name: 'Guardian sections' }).getByRole('link', { name: 'Channels' }).click();
    await page.waitForURL(`${baseUrl}/guardian/channels`);
    await page.getByText('No channels yet.').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    // A private URL without the operator setting would be refused; here, a bad Slack URL is.
    await page.getByLabel('Kind').selectOption('slack');
    await page.getByLabel('Name').fill('Not Slack');
    await page.getByLabel('Slack incoming-webhook URL').fill('https://example.com/services/x');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByText('This is not a Slack incoming-webhook URL', { exact: false }).first().waitFor();

    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel('Name').fill('Pager');
    await page.getByLabel('Webhook URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Add channel' }).click();
    const shown = page.getByTestId('signing-secret');
    await shown.waitFor();
    secret = (await shown.locator('code.secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByTestId('signing-secret').count()).toBe(0);
    await page.getByRole('table', { name: 'Notification channels' }).getByRole('cell', { name: 'Pager', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Send test to Pager' }).click();
    await page.getByText('Test to “Pager”: Delivered (HTTP 204)', { exact: false }).waitFor();
    expect(receiver.accepted.size).toBe(1);
    expect(receiver.unverified).toBe(0);
    expect(receiver.bodies[0]!.body.type).toBe('guardian.test');
  });

  it('reads the delivery log with the attempt expanded', async () => {
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await page.waitForURL(`${baseUrl}/guardian/deliveries`);
    const table = page.getByRole('table', { name: 'Deliveries' });
    await table.getByRole('cell', { name: 'Test notification to Pager', exact: true }).waitFor();
    await table.getByRole('button', { name: /1 attempt of Test notification to Pager/ }).click();
    const attempts = page.getByRole('table', { name: 'Attempts' });
    await attempts.getByRole('cell', { name: '204', exact: true }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No deliveries match these filters').waitFor();
    await page.getByLabel('Status').selectOption('');
    await table.getByRole('cell', { name: 'Test notification to Pager', exact: true }).waitFor();
  });

  it('shows an alert in the notification centre with its unread count, and marks it read', async () => {
    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByLabel('Kind').selectOption('in_app');
    await page.getByLabel('Name').fill('Team centre');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('table', { name: 'Notification channels' }).getByRole('cell', { name: 'Team centre', exact: true }).waitFor();

    const me = await page.evaluate(async () => (await (await fetch('/api/auth/me')).json()) as { workspace: { id: string } });
    const channels = await page.evaluate(async () => (await (await fetch('/api/guardian/channels')).json()) as { channels: Array<{ id: string; name: string }> });
    const rule = await insertRule(testApp.db, me.workspace.id, [channels.channels.find((c) => c.name === 'Team centre')!.id]);
    await fireAlert(testApp.db, me.workspace.id, rule, new Date());
    await testApp.runtime.deps.guardianNotify.runDue();

    await page.reload();
    expect((await page.getByTestId('unread-count').textContent())?.trim()).toBe('1 unread');
    await page.getByRole('button', { name: /Notifications/ }).click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByText('Alert firing: Bounce rate (high)').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await panel.getByRole('button', { name: 'Mark read: Alert firing: Bounce rate (high)' }).click();
    await page.getByTestId('unread-count').waitFor({ state: 'detached' });
    expect(browserErrors.filter((text) => !/Failed to load resource/.test(text))).toEqual([]);
  });
});
