/**
 * The A/B split's form in the builder, in a real browser (Debian's Chromium): every setting of the
 * automatic winner the engine reads (metric, minimum contacts per variant, minimum hours,
 * significance level) can be switched on and edited, out-of-range values get a sentence beside
 * their input, the draft saved holds exactly what was chosen, and publishing creates the running
 * test; the activity log then names the campaign (and the split step) of its entries and links
 * to it. axe-core finds no serious or critical issue with the form or the log open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, seriousAxeViolations, signUpInBrowser } from './browser.js';

const DEFINITION = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'manual' } },
    { id: 'subject', type: 'split', name: 'Subject line', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'subject' },
    { from: 'subject', to: 'x', handle: 'a' },
    { from: 'subject', to: 'x', handle: 'b' },
  ],
};

describe.skipIf(!browserTestsEnabled)('the A/B split form in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1440, height: 1100 }, extraArgs: ['--disable-component-update'], ignoreConsole: /^Failed to load resource/ }));
    await signUpInBrowser(page, baseUrl, { name: 'Sam Splitter', organization: 'Split Co', email: `split-${Date.now()}@example.com`, password: 'correct horse battery staple' });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('edits every automatic-winner setting, explains wrong values, saves them in the draft and publishes a running test', async () => {
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = cookies.find((c) => c.name === 'uh_csrf')!.value;
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { cookie, 'x-csrf-token': csrf }, payload: { name: 'Subject test', definition: DEFINITION } });
    expect(created.statusCode).toBe(201);
    const campaignId = (created.json() as { campaign: { id: string } }).campaign.id;
    const draft = async () =>
      ((await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: { cookie } })).json() as { definition: typeof DEFINITION & { nodes: Array<{ id: string; config: Record<string, unknown> }> } }).definition.nodes.find((n) => n.id === 'subject')!.config;

    await page.goto(`${baseUrl}/campaigns/${campaignId}`);
    await page.getByTestId('node-subject').click();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    await panel.getByText('Off: contacts are split by weight').waitFor();

    await panel.getByLabel('Pick a winner automatically').check();
    const sample = panel.getByLabel('Minimum contacts per variant');
    const hours = panel.getByLabel('Minimum hours before the first look');
    const alpha = panel.getByLabel('Significance level (%)');
    expect(await sample.inputValue()).toBe('1000');
    expect(await hours.inputValue()).toBe('24');

    // Wrong values are explained in words beside their inputs and marked invalid.
    await sample.fill('10');
    await panel.getByText('Each variant needs at least 50 contacts, or a winner would be chance.').waitFor();
    expect(await sample.getAttribute('aria-invalid')).toBe('true');
    await hours.fill('');
    await panel.getByText('Enter how many hours to wait before the first look').waitFor();
    await alpha.fill('30');
    await panel.getByText('Choose between 0.1 % and 20 % (leave empty for 5 %).').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Fixed: the errors go, and the draft holds exactly the settings chosen.
    await panel.getByLabel('Winning metric').selectOption('open');
    await sample.fill('400');
    await hours.fill('12');
    await alpha.fill('1');
    expect(await panel.locator('.field-error').count()).toBe(0);
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();
    await expect.poll(draft).toEqual({ variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], autoWinner: { metric: 'open', minSamplePerVariant: 400, minHours: 12, alpha: 0.01 } });

    // Conversion explains that it needs a goal; the publish check names the same problem.
    await panel.getByLabel('Winning metric').selectOption('conversion');
    await panel.getByText('Conversion needs a campaign goal').waitFor();
    await panel.getByLabel('Winning metric').selectOption('click');
    await alpha.fill('');
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();
    await expect.poll(draft).toEqual({ variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], autoWinner: { metric: 'click', minSamplePerVariant: 400, minHours: 12 } });

    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    await page.getByRole('dialog', { name: /Publish/ }).getByRole('button', { name: 'Publish now' }).click();
    await page.getByText('Published version 1: new enrollments follow it.').waitFor();
    const splits = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}/splits`, headers: { cookie } })).json() as { splits: Array<{ nodeId: string; status: string; autoWinner: unknown }> };
    expect(splits.splits).toEqual([expect.objectContaining({ nodeId: 'subject', status: 'running', autoWinner: { metric: 'click', minSamplePerVariant: 400, minHours: 12 } })]);

    // Switching it off removes the settings from the draft.
    await page.getByTestId('node-subject').click();
    await panel.getByLabel('Pick a winner automatically').uncheck();
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();
    await expect.poll(draft).toEqual({ variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] });
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });

  it("words the campaign's entries in the activity log with the campaign's name, a link to it", async () => {
    // A winner picked by hand: the entry names the split step and the campaign.
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = cookies.find((c) => c.name === 'uh_csrf')!.value;
    const campaignId = page.url().split('/').pop()!;
    const picked = await t.app.inject({ method: 'POST', url: `/api/campaigns/${campaignId}/splits/subject/winner`, headers: { cookie, 'x-csrf-token': csrf }, payload: { variant: 'b' } });
    expect(picked.statusCode, picked.body).toBe(200);
    await page.goto(`${baseUrl}/settings`);
    const log = page.getByRole('region', { name: 'Activity', exact: true }).getByRole('list', { name: 'Activity' });
    const winner = log.getByRole('listitem').filter({ hasText: "Sam Splitter picked Variant B as the winner of A/B split 'Subject line' in campaign 'Subject test'." });
    await winner.waitFor();
    await log.getByText("Sam Splitter published campaign 'Subject test'.").waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await winner.getByRole('link', { name: "'Subject test'" }).click();
    await page.waitForURL(`${baseUrl}/campaigns/${campaignId}`);
    await page.getByRole('heading', { name: 'Subject test', level: 1 }).waitFor();
    expect(browserErrors).toEqual([]);
  });
});
