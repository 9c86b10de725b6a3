/**
 * The campaign builder in Chromium, as a marketer uses it, by mouse: from a blank campaign, drags
 * email, wait, condition, A/B split and email from the palette onto the arrows to build trigger →
 * email → wait → condition → split → email → exit; leaves mid-way and comes back to find the
 * autosaved draft; reads the listed problems in plain words, opens each from the problems panel and
 * fixes it (connecting the open paths by dragging their handles); publishes; is asked before leaving
 * with unsaved changes; meets another member's save (edit conflict) and reloads their version. Cards never overlap,
 * and axe-core finds no serious or critical violation on the builder. Builds the web app first
 * when dist/web is missing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../helpers.js';
import { browserTestsEnabled, ensureWebBuilt, hasChromium, openAppInBrowser, screenshotDir, seriousAxeViolations, signUpInBrowser } from './browser.js';

/** The screen point halfway along an edge's drawn path. */
async function edgeMidpoint(page: Page, edgeId: string): Promise<{ x: number; y: number }> {
  const locator = page.locator(`[data-id="${edgeId}"] path.react-flow__edge-path`);
  await locator.waitFor({ state: 'attached' });
  return locator.evaluate((element) => {
    const path = element as SVGPathElement;
    const point = path.getPointAtLength(path.getTotalLength() / 2);
    const matrix = path.getScreenCTM()!;
    return { x: point.x * matrix.a + point.y * matrix.c + matrix.e, y: point.x * matrix.b + point.y * matrix.d + matrix.f };
  });
}

/** Drags a palette step with the mouse and drops it on the middle of an edge. */
async function dropOnEdge(page: Page, type: string, edgeId: string): Promise<void> {
  // The canvas may still be moving to show the last step added: measure once it has settled.
  let target = await edgeMidpoint(page, edgeId);
  for (let i = 0; i < 20; i += 1) {
    await page.waitForTimeout(100);
    const again = await edgeMidpoint(page, edgeId);
    if (Math.abs(again.x - target.x) < 1 && Math.abs(again.y - target.y) < 1) break;
    target = again;
  }
  const source = await page.getByTestId(`palette-${type}`).boundingBox();
  await page.mouse.move(source!.x + source!.width / 2, source!.y + source!.height / 2);
  await page.mouse.down();
  await page.mouse.move(source!.x + source!.width / 2 + 30, source!.y + source!.height / 2, { steps: 4 });
  await page.mouse.move(target.x, target.y, { steps: 8 });
  await page.mouse.up();
}

async function cardBoxes(page: Page): Promise<Array<{ id: string; x: number; y: number; width: number; height: number }>> {
  return page.locator('.react-flow__node').evaluateAll((elements) =>
    elements.map((element) => {
      const rect = element.getBoundingClientRect();
      return { id: element.getAttribute('data-id') ?? '', x: rect.x, y: rect.y, width: rect.width, height: rect.height };
    }),
  );
}

describe.skipIf(!browserTestsEnabled)(`campaign builder in Chromium${hasChromium ? '' : ' (skipped: /usr/bin/chromium is not installed)'}`, () => {
  let testApp: TestApp;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    testApp = await createTestApp();
    ({ baseUrl, browser, page, errors: browserErrors } = await openAppInBrowser(testApp, {
      viewport: { width: 1440, height: 1100 },
      extraArgs: ['--disable-component-update'],
      // Answers the page expects (401 before sign-up, 400 for the refused publish) are not errors of the page.
      ignoreConsole: /^Failed to load resource/,
    }));
    await signUpInBrowser(page, baseUrl, { name: 'Mara Marketer', organization: 'Builder Co', email: `builder-${Date.now()}@example.com`, password: 'correct horse battery staple' });
  });

  afterAll(async () => {
    await browser?.close();
    await testApp?.close();
  });

  it('builds trigger → email → wait → condition → split → email → exit by mouse, keeps the draft, fixes the problems and publishes', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('button', { name: 'Blank campaign' }).click();
    await page.getByLabel('Campaign name').fill('Onboarding journey');
    await page.getByRole('button', { name: 'Open in builder' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'Onboarding journey', level: 1 }).waitFor();
    // The near-empty canvas says what to do next, above the flow: the hint covers no card.
    await page.getByText('Build the flow.').waitFor();
    await page.getByTestId('node-trigger').waitFor();
    const hint = (await page.getByTestId('canvas-empty').boundingBox())!;
    for (const card of await cardBoxes(page)) expect(card.y >= hint.y + hint.height || card.y + card.height <= hint.y, `the hint covers ${card.id}`).toBe(true);
    await page.screenshot({ path: path.join(screenshotDir, 'builder-empty.png') });
    expect(await seriousAxeViolations(page)).toEqual([]);

    await dropOnEdge(page, 'email', 'trigger:next->exit');
    await page.locator('[data-id="email-1:next->exit"]').waitFor({ state: 'attached' });
    await dropOnEdge(page, 'wait', 'email-1:next->exit');
    await page.locator('[data-id="wait-1:next->exit"]').waitFor({ state: 'attached' });
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();

    // Leave mid-way and come back: the draft is there.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.waitForURL(`${baseUrl}/campaigns`);
    await page.getByRole('link', { name: 'Onboarding journey' }).click();
    await page.getByTestId('node-wait-1').waitFor();
    await page.locator('[data-id="email-1:next->wait-1"]').waitFor({ state: 'attached' });

    await dropOnEdge(page, 'condition', 'wait-1:next->exit');
    await page.locator('[data-id="condition-1:yes->exit"]').waitFor({ state: 'attached' });
    await dropOnEdge(page, 'split', 'condition-1:yes->exit');
    await page.locator('[data-id="split-1:a->exit"]').waitFor({ state: 'attached' });
    await dropOnEdge(page, 'email', 'split-1:a->exit');
    await page.locator('[data-id="email-2:next->exit"]').waitFor({ state: 'attached' });
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();

    // Cards never overlap.
    const boxes = await cardBoxes(page);
    expect(boxes.map((b) => b.id).sort()).toEqual(['condition-1', 'email-1', 'email-2', 'exit', 'split-1', 'trigger', 'wait-1']);
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        expect(overlap, `${a.id} overlaps ${b.id}`).toBe(false);
      }
    }

    // The problems, in plain words, listed in the panel.
    const problems = page.getByRole('region', { name: /problems? to fix before publishing/ });
    await problems.waitFor();
    const listed = await problems.getByTestId('problem').allTextContents();
    expect(listed.join('\n')).toContain('Fill in the subject line');
    expect(listed.join('\n')).toContain('Connect the path “b” to a next step.');
    for (const text of listed) expect(text).not.toMatch(/must NOT|config\./);
    expect(await seriousAxeViolations(page)).toEqual([]);

    // Publishing now is refused and says why.
    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    await page.getByRole('dialog', { name: /Publish/ }).getByRole('button', { name: 'Publish now' }).click();
    await page.getByText(/Fix the \d+ problems? listed in the panel/).waitFor();

    // Fix each: open it from the panel, fill in the fields.
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    for (const [id, subject] of [
      ['email-1', 'Welcome aboard'],
      ['email-2', 'Here is a gift'],
    ] as const) {
      await problems.getByRole('button', { name: new RegExp(`^Email ${id.split('-')[1]}`) }).first().click();
      await panel.getByRole('heading', { name: `Email: Email ${id.split('-')[1]}` }).waitFor();
      await panel.getByLabel('Subject').fill(subject);
      await panel.getByLabel(/^Body/).fill('<p>Hello {{ contact.first_name }}</p>');
    }
    await problems.getByRole('button', { name: /^Condition 1/ }).first().click();
    await panel.getByLabel('Tag').fill('vip');
    // With its rule complete, the condition's open path is checked too.
    await problems.getByText('Connect the “everyone else” path').waitFor();
    // The open paths are connected by dragging their handles onto the exit.
    await page.getByRole('button', { name: 'Fit view', exact: true }).click();
    await page.waitForTimeout(400);
    await page.getByTestId('handle-condition-1-default').dragTo(page.getByTestId('node-exit').locator('.react-flow__handle-top'));
    await page.locator('[data-id="condition-1:default->exit"]').waitFor({ state: 'attached' });
    await page.getByTestId('handle-split-1-b').dragTo(page.getByTestId('node-exit').locator('.react-flow__handle-top'));
    await page.locator('[data-id="split-1:b->exit"]').waitFor({ state: 'attached' });

    await page.getByText('No problems: this draft can be published.').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    await page.getByRole('dialog', { name: /Publish/ }).getByRole('button', { name: 'Publish now' }).click();
    await page.getByText('Published version 1: new enrollments follow it.').waitFor();
    await page.getByText('live: version 1').waitFor();

    // Leaving with unsaved changes asks first; staying keeps the page.
    await page.getByTestId('node-exit').click();
    await page.getByLabel('Name', { exact: true }).fill('All done');
    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.dismiss();
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    expect(question).toContain('not saved yet');
    expect(page.url()).toMatch(/\/campaigns\/[0-9a-f-]{36}$/);
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();

    // Another member saves meanwhile: the next save is refused and the page offers both versions.
    const campaignId = page.url().split('/').pop()!;
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = (await page.context().cookies()).find((c) => c.name === 'uh_csrf')!.value;
    const current = (await testApp.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: { cookie } })).json() as { campaign: { draftRevision: number }; definition: { nodes: Array<{ id: string; name?: string }> } };
    const theirs = { ...current.definition, nodes: current.definition.nodes.map((n) => (n.id === 'exit' ? { ...n, name: 'Their exit' } : n)) };
    const other = await testApp.app.inject({ method: 'PUT', url: `/api/campaigns/${campaignId}`, headers: { cookie, 'x-csrf-token': csrf }, payload: { definition: theirs, draftRevision: current.campaign.draftRevision } });
    expect(other.statusCode).toBe(200);
    await page.getByLabel('Name', { exact: true }).fill('My exit');
    await page.getByRole('alert').getByText('Someone else saved this campaign while you were editing.').waitFor();
    await page.getByRole('button', { name: 'Reload their version' }).click();
    await page.getByTestId('node-exit').getByText('Their exit').waitFor();
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();

    // Undo and redo by keyboard on the canvas.
    await page.getByRole('button', { name: 'Tidy up' }).click();
    await page.keyboard.press('Control+z');
    await page.keyboard.press('Control+Shift+z');
    await page.screenshot({ path: path.join(screenshotDir, 'builder.png') });
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(browserErrors).toEqual([]);
  });
});
