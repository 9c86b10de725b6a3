/**
 * The A/B results panel in a real browser (Debian's Chromium): a campaign the test runs through the
 * engine and the sender (dev inbox), with clicks recorded as the tracking links record them, shows
 * each variant's real numbers and intervals, the automatic winner with its sentence, and lets the
 * owner clear it and pick another by hand. axe-core finds no serious or critical issue.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { NO_EVENT_SINK, recordEvents } from '../../src/core/events.js';
import { ManualClock } from '../../src/platform/clock.js';
import { engineOf } from '../campaign-support.js';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { insertContacts, publishCampaign, seededRandom } from '../split-support.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, screenshotDir, seriousAxeViolations } from './browser.js';

describe.skipIf(!browserTestsEnabled)('A/B results in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let campaignId: string;
  const clock = new ManualClock(new Date());
  let browserErrors: string[] = [];
  const clicks = { a: 0, b: 0, assignedA: 0, assignedB: 0 };

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp({ clock });
    owner = await signUp(t.app, 'Olive Owner');

    // The campaign: a split of two subject lines with an automatic winner on clicks.
    campaignId = await publishCampaign(t.app, owner, 'Spring launch', {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'subject', type: 'split', name: 'Subject line', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], autoWinner: { metric: 'click', minSamplePerVariant: 100, minHours: 0 } } },
        { id: 'mail_a', type: 'email', config: { subject: 'Our spring launch', html: '<p>Hi {{ contact.first_name }}, <a href="https://example.com/spring">see it</a></p>' } },
        { id: 'mail_b', type: 'email', config: { subject: 'You get it first', html: '<p>Hi {{ contact.first_name }}, <a href="https://example.com/spring">see it</a></p>' } },
        { id: 'end', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'subject' },
        { from: 'subject', to: 'mail_a', handle: 'a' },
        { from: 'subject', to: 'mail_b', handle: 'b' },
        { from: 'mail_a', to: 'end' },
        { from: 'mail_b', to: 'end' },
      ],
    });
    const contacts = await insertContacts(t.db, owner.workspaceId, 300, 'ab-e2e-3');
    const enrolled = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/enroll`, headers: owner.bearer, payload: { contactIds: contacts } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(t).runDue();
    // The outbox stamps next_attempt_at with the database's time: catch the manual clock up to it.
    clock.set(new Date(Date.now() + 1000));
    while ((await t.runtime.deps.email.sender.runOnce()) > 0);
    // Clicks as the tracking link records them (seed 3): B's subject draws 20 %, A's 5 %.
    const messages = await t.db.query<{ id: string; contact_id: string; key: string }>(
      `SELECT id, contact_id, idempotency_key AS key FROM messages WHERE workspace_id = $1 AND source_id = $2 ORDER BY array_position($3::uuid[], contact_id)`,
      [owner.workspaceId, campaignId, contacts],
    );
    const random = seededRandom(3);
    const events = [];
    for (const m of messages.rows) {
      const variant = m.key.endsWith(':node:mail_b') ? 'b' : 'a';
      if (variant === 'a') clicks.assignedA += 1;
      else clicks.assignedB += 1;
      if (random() < (variant === 'b' ? 0.2 : 0.05)) {
        clicks[variant] += 1;
        events.push({ contactId: m.contact_id, type: 'email' as const, name: 'clicked', properties: { messageId: m.id, url: 'https://example.com/spring', machineOpen: false } });
      }
    }
    await recordEvents(t.db, NO_EVENT_SINK, owner.workspaceId, events, clock.now());
    clock.advance(60_000);
    await engineOf(t).runBatch();

    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1280, height: 900 }, logInAs: owner }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows each variant’s real numbers, the intervals and the automatic winner with why', async () => {
    await page.goto(`${baseUrl}/campaigns/${campaignId}`);
    const panel = page.getByRole('region', { name: 'A/B results · Subject line' });
    await panel.waitFor();
    const table = panel.getByRole('table', { name: 'Variants of Subject line' });
    const row = (name: string) => table.getByRole('row', { name: new RegExp(`^${name}`) });
    expect(await row('Contacts').textContent()).toBe(`Contacts${clicks.assignedA}${clicks.assignedB}`);
    expect(await row('Emails sent').textContent()).toBe(`Emails sent${clicks.assignedA}${clicks.assignedB}`);
    expect(await row('Clicked').textContent()).toBe(`Clicked${clicks.a}${clicks.b}`);
    const rateB = ((clicks.b / clicks.assignedB) * 100).toFixed(1);
    const rateA = ((clicks.a / clicks.assignedA) * 100).toFixed(1);
    expect(await row('Click rate').textContent()).toMatch(new RegExp(`^Click rate${rateA} % 95 % CI [\\d.]+ %–[\\d.]+ %${rateB} % 95 % CI [\\d.]+ %–[\\d.]+ %$`));
    // The chart and the winner with its reason.
    expect(await panel.getByRole('img', { name: 'Click rate per variant with 95 % intervals' }).count()).toBe(1);
    expect(await panel.textContent()).toContain(`Variant B won on click rate: ${rateB} % vs ${rateA} %, p `);
    expect(await panel.getByText('Winner chosen').count()).toBe(1);
    await panel.screenshot({ path: path.join(screenshotDir, 'ab-results.png') });
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });

  it('clears the winner and picks another by hand', async () => {
    const panel = page.getByRole('region', { name: 'A/B results · Subject line' });
    await panel.getByRole('button', { name: 'Clear winner' }).click();
    await panel.getByText('Winner cleared: later contacts are split by weight again.').waitFor();
    await panel.getByRole('button', { name: 'Pick as winner: Variant A' }).click();
    await panel.getByText('Variant A is now the winner').waitFor();
    await expect.poll(() => panel.textContent()).toContain('Variant A picked by hand');
    const stored = await t.db.query<{ winner_variant: string; decided_by: string }>('SELECT winner_variant, decided_by FROM split_tests WHERE campaign_id = $1', [campaignId]);
    expect(stored.rows).toEqual([{ winner_variant: 'a', decided_by: 'manual' }]);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
