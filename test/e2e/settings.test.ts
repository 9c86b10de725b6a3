/**
 * Settings in a real browser (Debian's Chromium): the workspace's time zone chosen from the
 * searchable list, with the local time there, saved and shown again after a reload; and on the
 * Members section each member's Guardian role (the default of the workspace role), overridden by the
 * owner and reset to the default, each with its confirmation. axe-core checks the page in each
 * state: no serious or critical issue. Then the activity log: sentences with names, a before/after
 * view and the filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { workspaceTimeZone } from '../../src/core/workspace.js';
import { createTestApp, joinByInvitation, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations } from './browser.js';

describe.skipIf(!browserTestsEnabled)('Settings: workspace time zone and Guardian roles in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let memberEmail: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    owner = await signUp(t.app, 'Olive Owner');
    memberEmail = `mia-${owner.workspaceId}@example.com`;
    await joinByInvitation(t.app, t.db, owner, { email: memberEmail, role: 'member', name: 'Mia Member' });
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
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
    expect(await seriousAxeViolations(page)).toEqual([]);

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
    expect(await seriousAxeViolations(page)).toEqual([]);

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
    expect(await seriousAxeViolations(page)).toEqual([]);

    await select.selectOption('');
    await members.getByText('Mia Member is back to the default Guardian role of the member role: Analyst').waitFor();
    await expect.poll(() => select.inputValue()).toBe('');
    const audit = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = $1 AND action = 'guardian_role.set'`, [owner.workspaceId]);
    expect(audit.rows[0]?.n).toBe(2);
    expect(await seriousAxeViolations(page)).toEqual([]);
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
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Filter by what changed, then by who: only Guardian role changes by Olive, then none by API keys.
    await activity.getByLabel('What', { exact: true }).selectOption({ label: 'Guardian roles' });
    await activity.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => log.getByRole('listitem').count()).toBe(2);
    await activity.getByLabel('Who', { exact: true }).selectOption({ label: 'Any API key' });
    await activity.getByRole('button', { name: 'Show' }).click();
    await activity.getByText('Nothing matches these filters.').waitFor();
    await activity.getByRole('button', { name: 'Clear' }).click();
    await log.getByText("Olive Owner set the workspace's time zone to Europe/Berlin.").waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
