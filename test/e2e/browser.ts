/**
 * What every browser test in test/e2e shares: Debian's Chromium (the tests skip without it unless
 * CI=true, where its absence fails them), the web app built once when dist/web is missing, the
 * test app listening on a local port, a page that collects console errors and uncaught exceptions,
 * logging in through the UI, axe-core's serious and critical violations, and where screenshots go.
 * Not a test file itself (vitest collects *.test.ts only).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestApp } from '../helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** On CI a missing Chromium fails the browser tests instead of skipping them. */
export const browserTestsEnabled = hasChromium || process.env.CI === 'true';

const root = path.resolve(import.meta.dirname, '../..');
/** Screenshots worth a human look, kept out of git. */
export const screenshotDir = process.env.E2E_SCREENSHOTS ?? path.join(root, 'dist/e2e-screenshots');

/** Builds the web app (vite) when dist/web/index.html is missing. */
export async function ensureWebBuilt(): Promise<void> {
  if (existsSync(path.join(root, 'dist/web/index.html'))) return;
  const { build } = await import('vite');
  const nodeEnv = process.env.NODE_ENV;
  await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
  // Vite's build() switches this process to NODE_ENV=production; the tests run as 'test'.
  process.env.NODE_ENV = nodeEnv;
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'];

export interface BrowserOptions {
  viewport: { width: number; height: number };
  /** Logs this account in through the login page before answering (see logIn). */
  logInAs?: { email: string; password: string };
  /** Chromium flags beyond the common ones (e.g. '--disable-component-update'). */
  extraArgs?: string[];
  /** Console errors whose text matches are not collected (e.g. failed loads the page expects). */
  ignoreConsole?: RegExp;
}

export interface BrowserSession {
  /** The app's address, http://127.0.0.1:<port>. */
  baseUrl: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of the page, CSP violations included. */
  errors: string[];
}

/**
 * Starts the test app on a free local port and opens it in headless Chromium: one context, one page
 * (15 s default timeout) whose errors are collected, logged in when `logInAs` is given.
 */
export async function openAppInBrowser(t: TestApp, options: BrowserOptions): Promise<BrowserSession> {
  const baseUrl = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])] });
  try {
    const context = await browser.newContext({ viewport: options.viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !options.ignoreConsole?.test(message.text())) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    const session = { baseUrl, browser, context, page, errors };
    if (options.logInAs) await logIn(session, options.logInAs);
    return session;
  } catch (error) {
    // The caller never sees this browser, so its afterAll cannot close it.
    await browser.close();
    throw error;
  }
}

/**
 * Logs in through the login page and waits for the dashboard. The login page's session check answers
 * 401 before logging in, so the errors collected so far are cleared: only errors after it count.
 */
export async function logIn(session: Pick<BrowserSession, 'baseUrl' | 'page' | 'errors'>, caller: { email: string; password: string }): Promise<void> {
  const { baseUrl, page } = session;
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(caller.email);
  await page.getByLabel('Password').fill(caller.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${baseUrl}/dashboard`);
  session.errors.length = 0;
}

/** Signs a new account up through the sign-up page and waits for the dashboard. */
export async function signUpInBrowser(page: Page, baseUrl: string, account: { name: string; organization: string; email: string; password: string }): Promise<void> {
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Your name').fill(account.name);
  await page.getByLabel('Organization').fill(account.organization);
  await page.getByLabel('Work email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${baseUrl}/dashboard`);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now, one line each (rule, impact, targets). */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') stays in force.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${axeSource};0`);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as { violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }> };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}
