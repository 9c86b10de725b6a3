/**
 * Editing on the builder's canvas in Chromium, by keyboard and mouse: the minimap is drawn; a
 * step's problem shows under the input of its setting (aria-invalid, aria-describedby) and goes
 * once fixed; a step is copied and pasted by keyboard; two steps are selected together (Ctrl-click)
 * and deleted; undo and redo bring them back and take them away again; a simulation runs the
 * draft as shown, an edit not saved yet included. axe-core finds no serious or critical violation
 * in any of these states. Screenshots of each state go to dist/e2e-screenshots/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestApp, signUp, type Caller, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, openAppInBrowser, screenshotDir, seriousAxeViolations } from './browser.js';

const cardIds = (page: Page) => page.locator('.react-flow__node').evaluateAll((elements) => elements.map((e) => e.getAttribute('data-id') ?? '').sort());

describe.skipIf(!browserTestsEnabled)('editing on the builder canvas in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let owner: Caller;
  let campaignId: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await createTestApp();
    owner = await signUp(t.app, 'Eddie Editor');
    const definition = (subject: string) => ({
      entryNodeId: 'start',
      nodes: [
        { id: 'start', type: 'trigger', name: 'Start', config: { kind: 'manual' }, position: { x: 0, y: 0 } },
        { id: 'hello', type: 'email', name: 'Hello email', config: { subject, html: '<p>Hi {{ contact.first_name }}</p>' }, position: { x: 0, y: 190 } },
        { id: 'pause', type: 'wait', name: 'Two days', config: { kind: 'duration', seconds: 2 * 86_400 }, position: { x: 0, y: 380 } },
        { id: 'done', type: 'exit', name: 'Done', config: {}, position: { x: 0, y: 570 } },
      ],
      edges: [
        { from: 'start', to: 'hello' },
        { from: 'hello', to: 'pause' },
        { from: 'pause', to: 'done' },
      ],
    });
    const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: owner.bearer, payload: { name: 'Welcome series', definition: definition('Hello') } });
    expect(created.statusCode, created.body).toBe(201);
    const { campaign } = created.json() as { campaign: { id: string; draftRevision: number } };
    campaignId = campaign.id;
    // A draft saved with a problem (drafts save valid or not): the subject emptied.
    const emptied = await t.app.inject({ method: 'PUT', url: `/api/campaigns/${campaignId}`, headers: owner.bearer, payload: { definition: definition(''), draftRevision: campaign.draftRevision } });
    expect(emptied.statusCode, emptied.body).toBe(200);

    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(t, { viewport: { width: 1400, height: 1000 }, logInAs: owner }));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows a problem under its field, copies and pastes, multi-selects and deletes, undoes and redoes, with a minimap', async () => {
    await page.goto(`${baseUrl}/campaigns/${campaignId}`);
    await page.getByRole('heading', { name: 'Welcome series', level: 1 }).waitFor();
    // The minimap draws every step.
    const minimap = page.locator('.react-flow__minimap');
    await minimap.waitFor();
    expect(await minimap.locator('.react-flow__minimap-node').count()).toBe(4);
    // Four steps: no "build the flow" hint.
    expect(await page.getByTestId('canvas-empty').count()).toBe(0);

    // The empty subject's problem shows under the subject input, tied to it.
    await page.getByTestId('node-hello').click();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    await panel.getByRole('heading', { name: 'Email: Hello email' }).waitFor();
    const subject = panel.getByLabel('Subject');
    await expect.poll(() => subject.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await subject.getAttribute('aria-describedby')) ?? '';
    const error = page.locator(`[id="${describedBy.split(' ').find((id) => id.endsWith('-error'))}"]`);
    expect(await error.textContent()).toContain('Fill in the subject line');
    expect(await panel.getByTestId('step-problems').textContent()).toContain('shown under the settings concerned');
    // Still listed in the problems panel too.
    expect(await page.getByRole('region', { name: /problem to fix before publishing/ }).getByTestId('problem').allTextContents()).toEqual([expect.stringContaining('Fill in the subject line')]);
    await page.screenshot({ path: path.join(screenshotDir, 'builder-field-error.png') });
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Fixed: the error and aria-invalid go once the draft is saved.
    await subject.fill('Welcome, {{ contact.first_name }}');
    await page.getByText('No problems: this draft can be published.').waitFor();
    expect(await subject.getAttribute('aria-invalid')).toBeNull();
    expect(await panel.getByTestId('field-error').count()).toBe(0);
    await page.screenshot({ path: path.join(screenshotDir, 'builder-field-fixed.png') });

    // Copy and paste a step by keyboard: a copy with a fresh id, selected.
    await page.getByTestId('node-pause').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await page.getByTestId('node-wait-1').getByText('Two days (copy)').waitFor();
    expect(await cardIds(page)).toEqual(['done', 'hello', 'pause', 'start', 'wait-1']);
    await panel.getByRole('heading', { name: 'Wait: Two days (copy)' }).waitFor();
    await page.screenshot({ path: path.join(screenshotDir, 'builder-pasted.png') });

    // Select two steps (Ctrl-click adds to the selection) and delete them together.
    // (its top-left corner: the pasted copy sits a little below and to the right of it)
    await page.getByTestId('node-pause').click({ modifiers: ['Control'], position: { x: 12, y: 8 } });
    await panel.getByText('2 steps selected').waitFor();
    await page.screenshot({ path: path.join(screenshotDir, 'builder-multi-select.png') });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.keyboard.press('Delete');
    await expect.poll(() => cardIds(page)).toEqual(['done', 'hello', 'start']);
    await page.screenshot({ path: path.join(screenshotDir, 'builder-deleted.png') });

    // Undo brings both back (with their connections); redo deletes them again; undo once more.
    await page.keyboard.press('Control+z');
    await expect.poll(() => cardIds(page)).toEqual(['done', 'hello', 'pause', 'start', 'wait-1']);
    await page.locator('[data-id="pause:next->done"]').waitFor({ state: 'attached' });
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => cardIds(page)).toEqual(['done', 'hello', 'start']);
    await page.getByRole('button', { name: 'Undo', exact: true }).click();
    await expect.poll(() => cardIds(page)).toEqual(['done', 'hello', 'pause', 'start', 'wait-1']);
    // Undone back to the saved draft within the autosave's moment: nothing is left pending.
    await expect.poll(() => page.getByTestId('save-state').textContent(), { timeout: 15_000 }).toMatch(/^Draft saved/);
    await page.screenshot({ path: path.join(screenshotDir, 'builder-undone.png') });
    expect(browserErrors).toEqual([]);
  });

  it('simulates the draft as shown, an edit not saved yet included', async () => {
    // The pasted copy leads nowhere: delete it (alone: a click on the empty canvas clears the selection first) so the draft can run.
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.getByTestId('node-wait-1').click();
    await page.getByRole('complementary', { name: 'Step settings and problems' }).getByRole('heading', { name: 'Wait: Two days (copy)' }).waitFor();
    await page.keyboard.press('Delete');
    await page.getByText('No problems: this draft can be published.').waitFor();
    await page.getByTestId('node-hello').click();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    await panel.getByRole('heading', { name: 'Email: Hello email' }).waitFor();
    await expect.poll(() => page.getByTestId('save-state').textContent(), { timeout: 15_000 }).toMatch(/^Draft saved/);
    await page.getByRole('tab', { name: 'Simulate' }).click();
    await page.getByLabel('First name').fill('Sim');
    // Edit the subject and run at once, before the autosave.
    await panel.getByLabel('Subject').fill('Not saved yet, {{ contact.first_name }}');
    await page.getByRole('button', { name: 'Run simulation' }).click();
    expect(await page.getByTestId('save-state').textContent()).not.toMatch(/^Draft saved/);
    const result = page.getByRole('region', { name: 'Result' });
    await result.waitFor();
    await result.getByText('Emails that would be sent').click();
    await result.locator('details').getByText('“Not saved yet, Sim”').waitFor();
    await page.getByRole('region', { name: 'Path shown on the canvas' }).or(page.locator('.canvas-legend')).first().waitFor();
    await page.screenshot({ path: path.join(screenshotDir, 'builder-simulate-unsaved.png'), fullPage: true });
    expect(await seriousAxeViolations(page)).toEqual([]);
    // Changed after the run: the panel says the result is of the earlier draft.
    await panel.getByLabel('Subject').fill('Changed again');
    await page.getByText('The draft changed since this run').waitFor();
    expect(browserErrors).toEqual([]);
  });
});
