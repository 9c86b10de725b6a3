/**
 * The web app in a real browser (Debian's Chromium driven by playwright-core) against the real
 * app on a test database: sign-up, the guarded shell, log-out and log-in, API keys, and adding a
 * contact that then appears in the list. Builds the web app first when dist/web is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true';
const root = path.resolve(import.meta.dirname, '../..');

async function ensureWebBuilt(): Promise<void> {
  if (existsSync(path.join(root, 'dist/web/index.html'))) return;
  const { build } = await import('vite');
  const nodeEnv = process.env.NODE_ENV;
  await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
  // Vite's build() switches this process to NODE_ENV=production; the tests run as 'test'.
  process.env.NODE_ENV = nodeEnv;
}

describe.skipIf(!hasChromium && !mustRun)(`web app in Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} is not installed; apt-get install chromium)`}`, () => {
  let testApp: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let baseUrl: string;
  /** Console errors and uncaught exceptions, CSP violations included. */
  const browserErrors: string[] = [];
  const email = `e2e-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    await ensureWebBuilt();
    testApp = await createTestApp();
    const address = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = address.replace('localhost', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() === 'error') browserErrors.push(message.text());
    });
    page.on('pageerror', (error) => browserErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await testApp?.close();
  });

  it('sends a visitor to the login page, signs up and opens the app shell', async () => {
    await page.goto(`${baseUrl}/contacts`);
    await page.waitForURL(/\/login\?next=%2Fcontacts$/);
    await expect(page.getByRole('heading', { name: 'Log in' }).isVisible()).resolves.toBe(true);

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/signup/);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Organization').fill('Analytical Engines');
    await page.getByLabel('Work email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL(`${baseUrl}/contacts`);
    await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    expect(await page.getByTestId('current-user').textContent()).toBe('Ada Lovelace');
    expect(await page.getByTestId('current-workspace').textContent()).toBe('Analytical Engines · owner');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const item of ['Contacts', 'Campaigns', 'Inbox', 'Settings']) {
      expect(await nav.getByRole('link', { name: item }).isVisible()).toBe(true);
    }
    expect(browserErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
  });

  it('shows a server error message on a wrong password, then logs back in', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);

    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent())?.length).toBeGreaterThan(0);

    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${baseUrl}/contacts`);
    await page.getByTestId('current-user').waitFor();
  });

  it('creates an API key in settings and shows it once', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${baseUrl}/settings`);
    await page.getByLabel('Key name').fill('Website form');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('new-api-key').textContent();
    expect(key?.length).toBeGreaterThan(20);
    const table = page.getByRole('table', { name: 'API keys' });
    await table.getByRole('cell', { name: 'Website form', exact: true }).waitFor();

    // The key works against the API, so what the page showed is the real one.
    const me = await fetch(`${baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-api-key').count()).toBe(0);

    // Revoking asks first, then the key stops working.
    page.once('dialog', (dialog) => void dialog.accept());
    await table.getByRole('button', { name: 'Revoke Website form' }).click();
    await table.getByText('revoked').waitFor();
    const revoked = await fetch(`${baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(revoked.status).toBe(401);

    // The activity log shows both changes after a fresh load.
    await page.reload();
    const activity = page.getByRole('table', { name: 'Activity' });
    await activity.getByRole('cell', { name: 'api_key.revoke' }).waitFor();
    expect(await activity.getByRole('cell', { name: 'api_key.create' }).isVisible()).toBe(true);
  });

  it('adds a member, changes their role and removes them', async () => {
    const members = page.getByRole('table', { name: 'Members' });
    const form = page.getByRole('form', { name: 'Add a member' });
    await form.getByLabel('Email').fill('charles@example.com');
    await form.getByLabel('Role').selectOption('member');
    await form.getByLabel('Name (new accounts)').fill('Charles Babbage');
    await form.getByLabel('First password (new accounts)').fill('difference engine 2');
    await form.getByRole('button', { name: 'Add member' }).click();
    await members.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor();

    await members.getByLabel('Role of charles@example.com').selectOption('viewer');
    await page.getByText('charles@example.com is now viewer.').waitFor();
    const listed = await testApp.app.inject({ method: 'GET', url: '/api/members', headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    expect((listed.json() as { members: Array<{ email: string; role: string }> }).members.find((m) => m.email === 'charles@example.com')?.role).toBe('viewer');

    page.once('dialog', (dialog) => void dialog.accept());
    await members.getByRole('button', { name: 'Remove charles@example.com' }).click();
    await page.getByText('charles@example.com was removed.').waitFor();
    await members.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor({ state: 'detached' });
  });

  it('adds a contact and sees it listed', async (context) => {
    const probe = await testApp.app.inject({ method: 'GET', url: '/api/contacts' });
    const probeCode = probe.statusCode === 404 ? (probe.json() as { error: { code: string } }).error.code : undefined;
    // Until the contacts API is merged into this branch, the route does not exist at all.
    if (probeCode === 'ROUTE_NOT_FOUND') context.skip('the contacts API (GET /api/contacts) is not part of this build');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.waitForURL(`${baseUrl}/contacts`);
    await page.getByRole('button', { name: 'Add contact' }).click();
    const form = page.getByRole('form', { name: 'New contact' });
    await form.getByLabel('Email').fill('grace@example.com');
    await form.getByLabel('First name').fill('Grace');
    await form.getByLabel('Last name').fill('Hopper');
    await form.getByLabel('Company').fill('Navy');
    await form.getByLabel('Tags').fill('vip, webinar');
    await form.getByRole('button', { name: 'Save contact' }).click();

    const table = page.getByRole('table', { name: 'Contacts' });
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();

    // A reload reads the list from the server, not from the page's memory.
    await page.reload();
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(await table.getByRole('cell', { name: 'grace@example.com' }).isVisible()).toBe(true);

    // The same email again is refused and the message appears next to the email field.
    await page.getByRole('button', { name: 'Add contact' }).click();
    await form.getByLabel('Email').fill('grace@example.com');
    await form.getByRole('button', { name: 'Save contact' }).click();
    await form.locator('#field-email-error').waitFor();
  });
});
