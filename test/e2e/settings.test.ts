/**
 * Settings in a real browser (Debian's Chromium): the workspace's time zone chosen from the
 * searchable list, with the local time there, saved and shown again after a reload; and on the
 * Members section each member's Guardian role (the default of the workspace role), overridden by the
 * owner and reset to the default, each with its confirmation. axe-core checks the page in each
 * state: no serious or critical issue. Then the activity log: sentences with names, a before/after
 * view and the filters.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { workspaceTimeZone } from '../../src/core/workspace.js';
import { createTestApp, joinByInvitation, signUp, type Caller, type TestApp } from '../helpers.js';

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

describe.skipIf(!hasChromium && !mustRun)('Settings: workspace time zone and Guardian roles in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let memberEmail: string;
  const browserErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist/web/index.html'))) {
      const { build } = await import('vite');
      const nodeEnv = process.env.NODE_ENV;
      await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
      process.env.NODE_ENV = nodeEnv;
    }
    t = await createTestApp();
    owner = await signUp(t.app, 'Olive Owner');
    memberEmail = `mia-${owner.workspaceId}@example.com`;
    await joinByInvitation(t.app, t.db, owner, { email: memberEmail, role: 'member', name: 'Mia Member' });
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

  it('sets the workspace time zone from the searchable list and shows the local time there', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${baseUrl}/settings`);
    const section = page.getByRole('region', { name: 'Workspace', exact: true });
    const zone = section.getByLabel('Time zone', { exact: true });
    await expect.poll(() => zone.inputValue()).toBe('UTC');
    expect(await axeProblems(page)).toEqual([]);

    await section.getByLabel('Find a time zone').fill('berlin');
    await expect.poll(() => zone.locator('option').allTextContents()).toEqual(['UTC', 'Europe / Berlin']);
    await zone.selectOption('Europe/Berlin');
    // The local time there names Berlin's offset (GMT+1 or GMT+2 by season), as the browser formats it.
    const hint = await section.getByText('Local time there now:').textContent();
    const offset = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'short' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? '';
    expect(hint).toContain(offset);
    await section.getByRole('button', { name: 'Save workspace' }).click();
    await section.getByText('Saved. Days and hours now count in Europe / Berlin.').waitFor();
    expect(await workspaceTimeZone(t.db, owner.workspaceId)).toBe('Europe/Berlin');
    expect(await axeProblems(page)).toEqual([]);

    await page.reload();
    await expect.poll(() => page.getByRole('region', { name: 'Workspace', exact: true }).getByLabel('Time zone', { exact: true }).inputValue()).toBe('Europe/Berlin');
    expect(browserErrors).toEqual([]);
  });

  it("shows each member's Guardian role and lets the owner override and reset it", async () => {
    const members = page.getByRole('region', { name: 'Members', exact: true });
    const select = members.getByLabel(`Guardian role for ${memberEmail}`);
    await expect.poll(() => select.inputValue()).toBe('');
    expect(await select.locator('option:checked').textContent()).toBe('Default (Analyst)');
    expect(await members.getByLabel(`Guardian role for ${owner.email}`).locator('option:checked').textContent()).toBe('Default (Guardian admin)');

    await select.selectOption('viewer');
    await members.getByText('Mia Member is now Viewer in Guardian: reads alerts only.').waitFor();
    const stored = await t.db.query<{ guardian_role: string | null }>('SELECT guardian_role FROM memberships WHERE workspace_id = $1 AND user_id = (SELECT id FROM users WHERE email = $2)', [owner.workspaceId, memberEmail]);
    expect(stored.rows[0]?.guardian_role).toBe('viewer');
    expect(await axeProblems(page)).toEqual([]);

    await select.selectOption('');
    await members.getByText('Mia Member is back to the default Guardian role of the member role: Analyst').waitFor();
    await expect.poll(() => select.inputValue()).toBe('');
    const audit = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = $1 AND action = 'guardian_role.set'`, [owner.workspaceId]);
    expect(audit.rows[0]?.n).toBe(2);
    expect(await axeProblems(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });

  it('shows the activity as sentences with names, a before/after view and filters', async () => {
    await page.reload();
    const activity = page.getByRole('region', { name: 'Activity', exact: true });
    const log = activity.getByRole('list', { name: 'Activity' });
    await log.getByText("Olive Owner set the workspace's time zone to Europe/Berlin.").waitFor();
    await log.getByText('Olive Owner made a member viewer in Guardian.').waitFor();
    expect(await log.getByText('127.0.0.1').count()).toBe(0);

    // The before/after of the time zone change.
    const item = log.getByRole('listitem').filter({ hasText: "set the workspace's time zone" });
    await item.getByText('What changed (1 field)').click();
    const diff = item.getByRole('table');
    expect(await diff.getByRole('row', { name: /time zone/ }).textContent()).toContain('UTCEurope/Berlin');
    expect(await axeProblems(page)).toEqual([]);

    // Filter by what changed, then by who: only Guardian role changes by Olive, then none by API keys.
    await activity.getByLabel('What', { exact: true }).selectOption({ label: 'Guardian roles' });
    await activity.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => log.getByRole('listitem').count()).toBe(2);
    await activity.getByLabel('Who', { exact: true }).selectOption({ label: 'Any API key' });
    await activity.getByRole('button', { name: 'Show' }).click();
    await activity.getByText('Nothing matches these filters.').waitFor();
    await activity.getByRole('button', { name: 'Clear' }).click();
    await log.getByText("Olive Owner set the workspace's time zone to Europe/Berlin.").waitFor();
    expect(await axeProblems(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
