/**
 * The web app in a real browser (Debian's Chromium driven by playwright-core) against the real
 * app on a test database: sign-up, the guarded shell, log-out and log-in, API keys, inviting a member
 * (the invitee opens the link from the dev inbox, signs up and lands in the workspace; removed and
 * invited again, they log in from the resent link), adding a
 * contact that then appears in the list, and the campaign builder (add and connect steps, a
 * problem shown on its step and listed, fix, autosave, publish), email templates with a test send shown
 * in Email › Messages with its attempt, subscription topics (settings, a contact's opt-out, an
 * email node's topic), an uncertain message resolved by the operator, and a declared custom field
 * edited on a contact and used as a list filter beside search and score bands, with the contact's
 * score breakdown and timeline, and a duplicate merged and a contact erased from their pages. Builds the web app first
 * when dist/web is missing.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { enqueueEmail } from '../../src/email/outbox.js';
import { engineOf } from '../campaign-support.js';
import { createTestApp, invitationToken, type TestApp } from '../helpers.js';
import { browserTestsEnabled, CHROMIUM, ensureWebBuilt, hasChromium, openAppInBrowser, screenshotDir } from './browser.js';

describe.skipIf(!browserTestsEnabled)(`web app in Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} is not installed; apt-get install chromium)`}`, () => {
  let testApp: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let baseUrl: string;
  /** Console errors and uncaught exceptions, CSP violations included. */
  let browserErrors: string[] = [];
  const email = `e2e-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';

  /** The signed-in owner's workspace, asked with the page's cookies. */
  const ownerWorkspace = async (): Promise<{ id: string }> => {
    const me = await testApp.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    return (me.json() as { workspace: { id: string } }).workspace;
  };

  beforeAll(async () => {
    await ensureWebBuilt();
    // A self-hoster's setting: the providers page tests a relay on this machine (provider-hosts.test.ts
    // covers the refusal of private hosts without it).
    testApp = await createTestApp({ config: { SMTP_ALLOW_PRIVATE_HOSTS: 'true' } });
    ({ baseUrl, browser, context, page, errors: browserErrors } = await openAppInBrowser(testApp, { viewport: { width: 1280, height: 800 }, extraArgs: ['--disable-quic', '--disable-component-update'] }));
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
    const activity = page.getByRole('list', { name: 'Activity' });
    await activity.getByText("revoked API key 'Website form'").waitFor();
    expect(await activity.getByText("created API key 'Website form'").isVisible()).toBe(true);
  });

  it('invites a member by email; the invitee opens the link from the dev inbox, signs up and lands in the workspace', async () => {
    const settings = page.getByRole('region', { name: 'Members' });
    await settings.getByText('No pending invitations.').waitFor();
    const form = page.getByRole('form', { name: 'Invite member' });
    await form.getByLabel('Email').fill('Charles@Example.com');
    await form.getByLabel('Role').selectOption('member');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation sent to charles@example.com. They join as member once they accept.').waitFor();
    const pending = page.getByRole('table', { name: 'Pending invitations' });
    await pending.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor();
    // Not a member until they accept.
    const members = page.getByRole('table', { name: 'Members' });
    expect(await members.getByRole('cell', { name: 'charles@example.com', exact: true }).count()).toBe(0);
    // Inviting again says so in plain words, next to the field.
    await form.getByLabel('Email').fill('charles@example.com');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('charles@example.com already has a pending invitation; resend or revoke it').waitFor();
    await settings.screenshot({ path: path.join(screenshotDir, 'members-settings.png') });

    // The email goes through the outbox to the dev inbox; the owner opens it and copies the link.
    while ((await testApp.runtime.deps.email.sender.runOnce()) > 0) {
      // drain the outbox
    }
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('navigation', { name: 'Messages' }).getByRole('link', { name: /Ada Lovelace invited you to Analytical Engines/ }).click();
    await page.getByRole('tab', { name: 'Text' }).click();
    const text = (await page.locator('pre.email-text').textContent()) ?? '';
    const link = /http:\/\/\S+\/invite#token=[\w-]+/.exec(text)?.[0];
    expect(link).toBeDefined();

    // The invitee, in their own browser, opens the link (PUBLIC_URL points elsewhere in tests).
    const invitee = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const theirs = await invitee.newPage();
      theirs.setDefaultTimeout(15_000);
      const invitePath = new URL(link!).pathname + new URL(link!).hash;
      await theirs.goto(`${baseUrl}${invitePath}`);
      await theirs.getByRole('heading', { name: 'Join Analytical Engines' }).waitFor();
      expect(await theirs.getByTestId('invitation-summary').textContent()).toBe('Ada Lovelace invited charles@example.com to join Analytical Engines as a member.');
      await theirs.screenshot({ path: path.join(screenshotDir, 'invite-page.png') });
      await theirs.getByLabel('Your name').fill('Charles Babbage');
      await theirs.getByLabel('Password').fill('difference engine 2');
      await theirs.getByRole('button', { name: 'Create account and join' }).click();
      await theirs.waitForURL(`${baseUrl}/contacts`);
      expect(await theirs.getByTestId('current-workspace').textContent()).toBe('Analytical Engines · member');
      expect(await theirs.getByTestId('current-user').textContent()).toBe('Charles Babbage');
      // The link works once, and says so in plain words.
      await theirs.goto(`${baseUrl}${invitePath}`);
      await theirs.getByRole('heading', { name: 'This invitation was already accepted' }).waitFor();
      await theirs.screenshot({ path: path.join(screenshotDir, 'invite-used.png') });
    } finally {
      await invitee.close();
    }
  });

  it('changes the new member’s role and removes them', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${baseUrl}/settings`);
    const members = page.getByRole('table', { name: 'Members' });
    await members.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor();
    await page.getByRole('region', { name: 'Members' }).getByText('No pending invitations.').waitFor();

    await members.getByLabel('Role of charles@example.com').selectOption('viewer');
    await page.getByText('charles@example.com is now viewer.').waitFor();
    const listed = await testApp.app.inject({ method: 'GET', url: '/api/members', headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    expect((listed.json() as { members: Array<{ email: string; role: string }> }).members.find((m) => m.email === 'charles@example.com')?.role).toBe('viewer');

    page.once('dialog', (dialog) => void dialog.accept());
    await members.getByRole('button', { name: 'Remove charles@example.com' }).click();
    await page.getByText('charles@example.com was removed.').waitFor();
    await members.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor({ state: 'detached' });
  });

  it('invites the removed member again; the resent link logs their existing account in and joins', async () => {
    const form = page.getByRole('form', { name: 'Invite member' });
    await form.getByLabel('Email').fill('charles@example.com');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Send invitation' }).click();
    const pending = page.getByRole('table', { name: 'Pending invitations' });
    await pending.getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor();
    // A resend straight away is refused in plain words; a minute later it goes.
    await pending.getByRole('button', { name: 'Resend the invitation to charles@example.com' }).click();
    await page.getByRole('alert').getByText('An invitation was sent to charles@example.com less than a minute ago; wait before sending another').waitFor();
    await testApp.db.query(`UPDATE invitations SET sent_at = sent_at - interval '2 minutes' WHERE email = 'charles@example.com' AND accepted_at IS NULL`);
    await pending.getByRole('button', { name: 'Resend the invitation to charles@example.com' }).click();
    await page.getByText('A new invitation link was sent to charles@example.com.').waitFor();
    const token = await invitationToken(testApp.db, (await ownerWorkspace()).id, 'charles@example.com');

    const invitee = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const theirs = await invitee.newPage();
      theirs.setDefaultTimeout(15_000);
      await theirs.goto(`${baseUrl}/invite#token=${token}`);
      await theirs.getByRole('button', { name: 'Log in to accept' }).click();
      await theirs.getByLabel('Password').fill('not my password');
      await theirs.getByRole('button', { name: 'Log in and join' }).click();
      await theirs.getByRole('alert').getByText('Email or password is incorrect').waitFor();
      await theirs.screenshot({ path: path.join(screenshotDir, 'invite-log-in.png') });
      await theirs.getByLabel('Password').fill('difference engine 2');
      await theirs.getByRole('button', { name: 'Log in and join' }).click();
      await theirs.waitForURL(`${baseUrl}/contacts`);
      expect(await theirs.getByTestId('current-workspace').textContent()).toBe('Analytical Engines · viewer');
    } finally {
      await invitee.close();
    }
    await page.reload();
    await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: 'charles@example.com', exact: true }).waitFor();
    await page.getByRole('region', { name: 'Members' }).getByText('No pending invitations.').waitFor();
    await page.getByRole('region', { name: 'Members' }).screenshot({ path: path.join(screenshotDir, 'members-after.png') });
    // Later steps count their own sends: leave the outbox empty.
    while ((await testApp.runtime.deps.email.sender.runOnce()) > 0) {
      // drain the outbox
    }
  });

  it('adds a contact and sees it listed', async () => {
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

    // A new contact has done nothing yet: not among the recently active, among the inactive.
    await page.getByLabel('Activity').selectOption({ label: 'Active in the last 7 days' });
    await page.getByText('No contact matches these filters.').waitFor();
    await page.getByLabel('Activity').selectOption({ label: 'Not active for 30 days' });
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await page.getByLabel('Activity').selectOption({ label: 'Any activity' });

    // The same email again is refused and the message appears next to the email field.
    await page.getByRole('button', { name: 'Add contact' }).click();
    await form.getByLabel('Email').fill('grace@example.com');
    await form.getByRole('button', { name: 'Save contact' }).click();
    await form.locator('#field-email-error').waitFor();
  });

  it('builds a campaign on the canvas: adds and connects steps, shows a problem on its step and in the list, fixes it and publishes', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.waitForURL(`${baseUrl}/campaigns`);
    await page.getByRole('button', { name: 'Blank campaign' }).click();
    await page.getByLabel('Campaign name').fill('Welcome flow');
    await page.getByRole('button', { name: 'Open in builder' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    const campaignId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Welcome flow', level: 1 }).waitFor();
    await page.getByTestId('node-trigger').waitFor();

    // The palette adds an email step, selected, with its settings in the side panel.
    await page.getByTestId('palette-email').click();
    await page.getByTestId('node-email-1').waitFor();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    await panel.getByLabel('Subject').waitFor();
    await page.getByRole('button', { name: 'Fit view', exact: true }).click();
    await page.waitForTimeout(400);

    // Drag from the trigger's `next` handle to the email: the edge replaces trigger → exit.
    await page.getByTestId('handle-trigger-next').dragTo(page.getByTestId('node-email-1').locator('.react-flow__handle-top'));
    await page.locator('[data-id="trigger:next->email-1"]').waitFor({ state: 'attached' });
    expect(await page.locator('[data-id="trigger:next->exit"]').count()).toBe(0);

    // The email's next step is chosen in the panel.
    await page.getByTestId('node-email-1').click();
    await panel.getByLabel('Then (next)').selectOption('exit');
    await page.locator('[data-id="email-1:next->exit"]').waitFor({ state: 'attached' });

    // The draft autosaves with its problems: the empty subject is marked on the email step and listed.
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();
    await page.getByTestId('node-email-1').getByText(/to fix/).waitFor();
    await panel.getByText('Fill in the subject line; it cannot be empty.').first().waitFor();
    const unsaved = await testApp.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    const stored = unsaved.json() as { definition: { nodes: unknown[] }; problems: Array<{ nodeId: string; field: string }> };
    expect(stored.definition.nodes).toHaveLength(3);
    expect(stored.problems).toEqual(expect.arrayContaining([expect.objectContaining({ nodeId: 'email-1', field: 'config.subject' })]));

    await panel.getByLabel('Subject').fill('Welcome aboard');
    await panel.getByLabel(/^Body/).fill('<p>Hello {{ contact.first_name }}</p>');
    await page.getByText('No problems: this draft can be published.').waitFor();
    expect(await page.getByTestId('node-email-1').getByText(/to fix/).count()).toBe(0);

    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    await page.getByRole('dialog', { name: /Publish/ }).getByRole('button', { name: 'Publish now' }).click();
    await page.getByText('Published version 1: new enrollments follow it.').waitFor();
    await page.getByText('Active', { exact: true }).waitFor();

    const saved = await testApp.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    const body = saved.json() as { campaign: { status: string; currentVersion: number }; definition: { entryNodeId: string; nodes: Array<{ id: string; config: Record<string, unknown> }>; edges: Array<{ from: string; to: string }> } };
    expect(body.campaign.status).toBe('active');
    expect(body.campaign.currentVersion).toBe(1);
    expect(body.definition.entryNodeId).toBe('trigger');
    expect(body.definition.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(['email-1->exit', 'trigger->email-1']);
    expect(body.definition.nodes.find((n) => n.id === 'email-1')?.config).toEqual({ subject: 'Welcome aboard', html: '<p>Hello {{ contact.first_name }}</p>' });
  });

  it('edits an email template: issues with line numbers, fix, rendered preview; test-sends it and follows its delivery in Messages; tests a provider; suppresses an address', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email' }).click();
    await page.waitForURL(`${baseUrl}/email`);
    await page.getByRole('button', { name: 'New template' }).click();
    await page.waitForURL(`${baseUrl}/email/templates/new`);
    const form = page.getByRole('form', { name: 'Template' });
    await form.getByLabel('Name').fill('Welcome');
    await form.getByLabel('Subject').fill('Hello {{ contact.first_name }}');
    await form.getByLabel(/^HTML or MJML/).fill('<p>Hi {{ contact.first_name }}</p>\n<p>{{ nope.secret }}</p>');
    // The draft preview follows the typing before anything is saved.
    await page.frameLocator('iframe[title="Draft preview"]').getByText('Hi {{ contact.first_name }}').waitFor();

    await form.getByRole('button', { name: 'Save template' }).click();
    // The issue names its line; choosing it selects that line in the editor.
    const issue = page.getByRole('alert').getByRole('button', { name: /^html line 2: / });
    await issue.click();
    expect(await form.getByLabel(/^HTML or MJML/).evaluate((area: HTMLTextAreaElement) => area.value.slice(area.selectionStart, area.selectionEnd))).toBe('<p>{{ nope.secret }}</p>');
    expect(page.url()).toBe(`${baseUrl}/email/templates/new`);

    await form.getByLabel(/^HTML or MJML/).fill('<p>Hi {{ contact.first_name }}</p>\n<p>Welcome to {{ workspace.name }}</p>');
    await form.getByRole('button', { name: 'Save template' }).click();
    await page.waitForURL(/\/email\/templates\/[0-9a-f-]{36}$/);
    await page.getByTestId('rendered-subject').waitFor();
    expect(await page.getByTestId('rendered-subject').textContent()).toMatch(/^Hello /);
    await page.frameLocator('iframe[title="Rendered email"]').getByText('Welcome to Analytical Engines').waitFor();

    // A test send goes through the outbox; once the sender ran, Messages shows it sent with one attempt.
    await page.getByRole('form', { name: 'Test send' }).getByLabel('Send a test to').fill('qa@example.com');
    await page.getByRole('form', { name: 'Test send' }).getByRole('button', { name: 'Send test' }).click();
    await page.getByText('Test email queued to qa@example.com.').waitFor();
    expect(await testApp.runtime.deps.email.sender.runOnce()).toBeGreaterThanOrEqual(1);
    await page.getByRole('link', { name: '← Templates' }).click();
    await page.getByRole('navigation', { name: 'Email sections' }).getByRole('link', { name: 'Messages' }).click();
    await page.waitForURL(`${baseUrl}/email/messages`);
    const messages = page.getByRole('table', { name: 'Messages' });
    const sentRow = messages.getByRole('row', { name: /qa@example\.com/ });
    expect(await sentRow.getByRole('cell').nth(2).textContent()).toBe('sent');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No failed messages.').waitFor();
    await page.getByLabel('Status').selectOption('sent');
    await messages.getByRole('link', { name: 'qa@example.com' }).click();
    await page.waitForURL(/\/email\/messages\/[0-9a-f-]{36}$/);
    expect(await page.getByTestId('message-status').textContent()).toBe('sent');
    const attempts = page.getByRole('table', { name: 'Send attempts' });
    await attempts.waitFor();
    expect(await attempts.getByRole('row').count()).toBe(2);
    expect(await attempts.getByRole('row').nth(1).getByRole('cell').nth(2).textContent()).toBe('sent');
    await page.getByRole('link', { name: 'All messages' }).click();
    await page.getByRole('navigation', { name: 'Email sections' }).getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('table', { name: 'Templates' }).getByRole('link', { name: 'Welcome' }).click();
    await page.waitForURL(/\/email\/templates\/[0-9a-f-]{36}$/);

    // Providers: an SMTP server nobody listens on fails its connection test, and says so.
    await page.getByRole('link', { name: '← Templates' }).click();
    await page.getByRole('table', { name: 'Templates' }).getByRole('link', { name: 'Welcome' }).waitFor();
    await page.getByRole('navigation', { name: 'Email sections' }).getByRole('link', { name: 'Providers' }).click();
    await page.waitForURL(`${baseUrl}/email/providers`);
    await page.getByRole('button', { name: 'Add provider' }).click();
    const providerForm = page.getByRole('form', { name: 'Add a provider' });
    await providerForm.getByLabel('Name').fill('Local relay');
    await providerForm.getByLabel(/^SMTP URL/).fill('smtp://127.0.0.1:9');
    await providerForm.getByRole('button', { name: 'Add provider' }).click();
    await page.getByText('Local relay was added.').waitFor();
    await page.getByRole('button', { name: 'Test Local relay' }).click();
    await page.getByTestId('test-result-Local relay').getByText(/^Failed/).waitFor();

    // Suppressions: add one, find it, remove it.
    await page.getByRole('navigation', { name: 'Email sections' }).getByRole('link', { name: 'Suppressions' }).click();
    await page.waitForURL(`${baseUrl}/email/suppressions`);
    const suppress = page.getByRole('form', { name: 'Suppress an address' });
    await suppress.getByLabel('Suppress an address').fill('bounced@example.com');
    await suppress.getByRole('button', { name: 'Suppress' }).click();
    const table = page.getByRole('table', { name: 'Suppressions' });
    await table.getByRole('cell', { name: 'bounced@example.com', exact: true }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await table.getByRole('button', { name: 'Unsuppress bounced@example.com' }).click();
    await page.getByText('bounced@example.com was removed from the list.').waitFor();
    await page.getByRole('table', { name: 'Suppressions' }).waitFor({ state: 'detached' });
    await page.getByText('No suppressed addresses.').waitFor();
  });

  it('imports a CSV with a column mapping and shows the row errors, then segments contacts by tag', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.waitForURL(`${baseUrl}/contacts/import`);
    const csv = ['E-mail address,Given,Plan,Labels', 'alan@example.com,Alan,pro,vip', 'not-an-email,Bad,free,', 'ada2@example.com,Ada,free,'].join('\n');
    await page.getByLabel(/^CSV file/).setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const mapping = page.getByRole('table', { name: 'Column mapping' });
    // Known headers are guessed; the others are mapped by hand.
    expect(await mapping.getByLabel('Field for E-mail address').inputValue()).toBe('email');
    expect(await mapping.getByLabel('Field for Plan').inputValue()).toBe('custom:Plan');
    await mapping.getByLabel('Field for Given').selectOption('firstName');
    await mapping.getByLabel('Field for Labels').selectOption('tags');
    await page.getByRole('button', { name: 'Start import' }).click();

    const report = page.getByRole('region', { name: 'Import report' });
    await report.waitFor();
    expect(await report.getByTestId('rows-processed').textContent()).toBe('3');
    expect(await report.getByTestId('rows-created').textContent()).toBe('2');
    expect(await report.getByTestId('rows-failed').textContent()).toBe('1');
    const rowErrors = report.getByRole('table', { name: 'Row errors' });
    expect(await rowErrors.getByRole('row').count()).toBe(2);
    await page.getByRole('table', { name: 'Recent imports' }).getByRole('cell', { name: 'people.csv' }).waitFor();

    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const alan = await testApp.app.inject({ method: 'GET', url: '/api/contacts?search=alan%40example.com', headers: { cookie } });
    const found = (alan.json() as { contacts: Array<{ firstName: string; tags: string[]; customFields: Record<string, unknown> }> }).contacts[0];
    expect(found).toMatchObject({ firstName: 'Alan', tags: ['vip'], customFields: { Plan: 'pro' } });

    // A dynamic segment of contacts tagged vip: Grace (added earlier) and Alan.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('button', { name: 'New segment' }).click();
    await page.waitForURL(`${baseUrl}/segments/new`);
    const form = page.getByRole('form', { name: 'Segment' });
    await form.getByLabel('Name').fill('VIPs');
    await form.getByLabel('Condition 1 tag').fill('vip');
    await form.getByRole('button', { name: 'Save segment' }).click();
    await page.waitForURL(/\/segments\/[0-9a-f-]{36}$/);
    const members = page.getByRole('list', { name: 'Segment members' });
    await members.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await members.getByRole('link', { name: 'Alan' }).waitFor();
    await page.getByRole('link', { name: '← Segments' }).click();
    const row = page.getByRole('table', { name: 'Segments' }).getByRole('row', { name: /VIPs/ });
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('2');
  });

  it('manages subscription topics: settings, a contact’s opt-out, an email node’s topic; and resolves an uncertain message', async () => {
    const errorsBefore = browserErrors.length;
    const cookie = async () => ({ cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${baseUrl}/settings`);
    const topicForm = page.getByRole('form', { name: 'Add topic' });
    await topicForm.getByLabel('Topic name').fill('Product news');
    await topicForm.getByLabel('Description').fill('What we ship');
    await topicForm.getByLabel('Default topic').check();
    await topicForm.getByRole('button', { name: 'Add topic' }).click();
    const topics = page.getByRole('table', { name: 'Subscription topics' });
    await topics.getByRole('row', { name: /Product news\s*default/ }).waitFor();
    await topicForm.getByLabel('Topic name').fill('Webinars');
    await topicForm.getByRole('button', { name: 'Add topic' }).click();
    await topics.getByRole('cell', { name: 'Webinars', exact: true }).waitFor();
    const listed = (await testApp.app.inject({ method: 'GET', url: '/api/topics', headers: await cookie() })).json() as { topics: Array<{ id: string; name: string; isDefault: boolean }> };
    expect(listed.topics.map((t) => [t.name, t.isDefault])).toEqual([
      ['Product news', true],
      ['Webinars', false],
    ]);
    const webinars = listed.topics.find((t) => t.name === 'Webinars')!.id;

    // The contact page shows the topics; unchecking one opts the contact out.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('table', { name: 'Contacts' }).getByRole('link', { name: 'Grace Hopper' }).click();
    const contactTopics = page.getByRole('list', { name: 'Subscription topics' });
    await contactTopics.getByLabel('Webinars').uncheck();
    await contactTopics.getByText(/opted out .* via user/).waitFor();
    const contactId = page.url().split('/').pop()!;
    const state = (await testApp.app.inject({ method: 'GET', url: `/api/contacts/${contactId}/topics`, headers: await cookie() })).json() as { topics: Array<{ id: string; subscribed: boolean }> };
    expect(state.topics.find((t) => t.id === webinars)?.subscribed).toBe(false);

    // The builder's email node chooses its topic.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('link', { name: 'Welcome flow' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
    const campaignId = page.url().split('/').pop()!;
    await page.getByTestId('node-email-1').click();
    const panel = page.getByRole('complementary', { name: 'Step settings and problems' });
    // The workspace's topics load after the panel opens: wait for the default to be named.
    await panel.getByLabel('Subscription topic').locator('option', { hasText: 'Workspace default (Product news)' }).waitFor({ state: 'attached' });
    expect(await panel.getByLabel('Subscription topic').locator('option').first().textContent()).toBe('Workspace default (Product news)');
    await panel.getByLabel('Subscription topic').selectOption({ label: 'Webinars' });
    // The draft autosaves a moment later.
    await expect
      .poll(async () => {
        const draft = (await testApp.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: await cookie() })).json() as { definition: { nodes: Array<{ id: string; config: Record<string, unknown> }> } };
        return draft.definition.nodes.find((n) => n.id === 'email-1')?.config.topicId;
      }, { timeout: 10_000 })
      .toBe(webinars);
    await page.getByTestId('save-state').getByText(/^Draft saved/).waitFor();

    // A message the provider may have accepted waits in Messages for the operator's decision.
    const workspaceId = ((await testApp.app.inject({ method: 'GET', url: '/api/auth/me', headers: await cookie() })).json() as { workspace: { id: string } }).workspace.id;
    const { id: messageId } = await enqueueEmail(testApp.db, { workspaceId, contactId, idempotencyKey: 'e2e:uncertain', sourceType: 'campaign', sourceId: null, from: 'news@acme.test', to: 'grace@example.com', subject: 'Maybe delivered', html: '<p>Hi</p>', text: 'Hi' });
    await testApp.db.query(`UPDATE messages SET status = 'uncertain', attempts = 1, provider = 'postmark', last_error = 'postmark: no answer' WHERE id = $1`, [messageId]);
    await testApp.db.query(`INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, error) VALUES ($1, $2, 'postmark', 'ambiguous', 10000, 'postmark: no answer')`, [workspaceId, messageId]);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email' }).click();
    await page.getByRole('navigation', { name: 'Email sections' }).getByRole('link', { name: 'Messages' }).click();
    await page.waitForURL(`${baseUrl}/email/messages`);
    await page.getByTestId('uncertain-notice').getByRole('button', { name: 'Show uncertain messages' }).click();
    await page.getByRole('table', { name: 'Messages' }).getByRole('link', { name: 'grace@example.com' }).click();
    await page.waitForURL(`${baseUrl}/email/messages/${messageId}`);
    expect(await page.getByTestId('message-status').textContent()).toBe('uncertain');
    await page.getByTestId('operator-actions').getByText(/may have accepted this email/).waitFor();
    await page.getByRole('button', { name: 'Mark as sent' }).click();
    await page.getByTestId('message-status').getByText('sent', { exact: true }).waitFor();
    const attempts = page.getByRole('table', { name: 'Send attempts' });
    await attempts.getByRole('cell', { name: 'marked sent', exact: true }).waitFor();
    expect(await attempts.getByRole('row').nth(2).getByRole('cell').nth(2).textContent()).toBe('marked sent');
    expect(await page.getByTestId('operator-actions').count()).toBe(0);
    expect(browserErrors.slice(errorsBefore)).toEqual([]);
  });

  it('declares a typed custom field, edits it on a contact, filters the list by it, by search and by score band, and shows the score breakdown and timeline', async () => {
    const errorsBefore = browserErrors.length;
    const cookie = async () => ({ cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    const fieldForm = page.getByRole('form', { name: 'New custom field' });
    await fieldForm.getByLabel('Key').fill('seats');
    await fieldForm.getByLabel('Label').fill('Seats');
    await fieldForm.getByLabel('Type').selectOption({ label: 'Number' });
    await fieldForm.getByRole('button', { name: 'Add field' }).click();
    await page.getByRole('table', { name: 'Custom fields' }).getByRole('cell', { name: 'Seats', exact: true }).waitFor();

    // Search finds Grace by a word of her name; her page edits the declared field as a number.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    const table = page.getByRole('table', { name: 'Contacts' });
    await page.getByLabel('Search').fill('hopp');
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Contacts"] tbody tr').length === 1);
    await table.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/);
    const contactId = page.url().split('/').pop()!;
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit contact' });
    expect(await form.getByLabel('Seats').getAttribute('type')).toBe('number');
    await form.getByLabel('Seats').fill('12');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('term').filter({ hasText: 'Seats' }).waitFor();
    const stored = (await testApp.app.inject({ method: 'GET', url: `/api/contacts/${contactId}`, headers: await cookie() })).json() as { customFields: Record<string, unknown> };
    expect(stored.customFields.seats).toBe(12);

    // An event reaches the timeline, and the processor scores it: the parts add up to the score.
    const tracked = await testApp.app.inject({ method: 'POST', url: '/api/events', headers: { ...(await cookie()), 'x-csrf-token': (await context.cookies()).find((c) => c.name === 'uh_csrf')!.value }, payload: { contactId, name: 'Viewed Pricing' } });
    expect(tracked.statusCode).toBe(201);
    await testApp.runtime.eventProcessor.drain();
    // A campaign's steps join the timeline, linked to the campaign.
    const campaigns = (await testApp.app.inject({ method: 'GET', url: '/api/campaigns', headers: await cookie() })).json() as { campaigns: Array<{ id: string; name: string }> };
    const welcome = campaigns.campaigns.find((c) => c.name === 'Welcome flow')!.id;
    const enrolled = await testApp.app.inject({ method: 'POST', url: `/api/campaigns/${welcome}/enroll`, headers: { ...(await cookie()), 'x-csrf-token': (await context.cookies()).find((c) => c.name === 'uh_csrf')!.value }, payload: { contactIds: [contactId] } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await engineOf(testApp).runDue();
    await page.reload();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.locator('.timeline').getByText('Viewed Pricing').waitFor();
    await page.locator('.timeline').getByRole('link', { name: 'Welcome flow' }).first().waitFor();
    const breakdown = page.getByRole('list', { name: 'Score breakdown' });
    await breakdown.waitFor();
    const points = (await breakdown.locator('.num').allTextContents()).map((text) => Number(text.split('/')[0]));
    const score = Number(await page.locator('.score-line .score').textContent());
    expect(score).toBeGreaterThan(0);
    expect(points.reduce((sum, p) => sum + p, 0)).toBe(score);
    await breakdown.getByText('looked at pricing or checkout', { exact: false }).waitFor();

    // The list filters by the declared field and by score band.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('Custom field').selectOption({ label: 'Seats' });
    await page.getByLabel('Seats is').fill('12');
    // The filter applies after a short pause in typing: wait for the list to narrow to Grace.
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Contacts"] tbody tr').length === 1);
    expect(await table.locator('tbody tr').first().getByRole('link').textContent()).toBe('Grace Hopper');
    await page.getByLabel('Seats is').fill('13');
    await page.getByText('No contact matches these filters.').waitFor();
    await page.getByLabel('Custom field').selectOption({ label: 'Any field' });
    await page.getByLabel('Lead score').selectOption({ label: 'Hot (80–100)' });
    await page.getByText('No contact matches these filters.').waitFor();
    await page.getByLabel('Lead score').selectOption({ label: 'Cold (under 60)' });
    await table.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(browserErrors.slice(errorsBefore)).toEqual([]);
  });

  it('merges a duplicate into a contact and erases another contact’s personal data from their pages', async () => {
    const errorsBefore = browserErrors.length;
    const session = async () => {
      const cookies = await context.cookies();
      return { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '), 'x-csrf-token': cookies.find((c) => c.name === 'uh_csrf')!.value };
    };
    const duplicate = await testApp.app.inject({ method: 'POST', url: '/api/contacts', headers: await session(), payload: { email: 'g.hopper@navy.example', firstName: 'Grace', lastName: 'Hopper', jobTitle: 'Rear Admiral', tags: ['navy'] } });
    expect(duplicate.statusCode).toBe(201);

    await page.goto(`${baseUrl}/contacts`);
    await page.getByLabel('Search').fill('grace@example.com');
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Contacts"] tbody tr').length === 1);
    await page.getByRole('table', { name: 'Contacts' }).getByRole('link', { name: 'Grace Hopper' }).click();
    await page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/);
    const graceId = page.url().split('/').pop()!;
    await page.getByRole('button', { name: 'Merge a duplicate' }).click();
    const merge = page.getByRole('region', { name: 'Merge a duplicate into this contact' });
    await merge.getByLabel('Name or email of the duplicate').fill('navy.example');
    await merge.getByRole('button', { name: 'Find' }).click();
    page.once('dialog', (dialog) => void dialog.accept());
    await merge.getByRole('button', { name: 'Merge g.hopper@navy.example' }).click();
    await page.getByText('Merged g.hopper@navy.example into this contact.').waitFor();
    // The kept contact's values win, its empty fields are filled, tags are united; the duplicate is gone.
    const kept = (await testApp.app.inject({ method: 'GET', url: `/api/contacts/${graceId}`, headers: await session() })).json() as { email: string; jobTitle: string; tags: string[] };
    expect(kept).toMatchObject({ email: 'grace@example.com', jobTitle: 'Rear Admiral' });
    expect(kept.tags).toContain('navy');
    expect((await testApp.app.inject({ method: 'GET', url: `/api/contacts/${duplicate.json().id}`, headers: await session() })).statusCode).toBe(404);
    await page.locator('.tags').getByText('navy', { exact: true }).waitFor();

    // Alan (imported earlier) asks to be forgotten.
    await page.goto(`${baseUrl}/contacts`);
    await page.getByLabel('Search').fill('alan@example.com');
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Contacts"] tbody tr').length === 1);
    await page.getByRole('table', { name: 'Contacts' }).getByRole('link', { name: 'Alan' }).click();
    await page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/);
    const alanId = page.url().split('/').pop()!;
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Erase personal data' }).click();
    await page.getByText('Personal data erased.').waitFor();
    await page.getByText('erased', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    const alan = (await testApp.app.inject({ method: 'GET', url: `/api/contacts/${alanId}`, headers: await session() })).json() as { email: string; firstName: string | null; tags: string[] };
    expect(alan).toMatchObject({ email: `erased-${alanId}@erased.invalid`, firstName: null, tags: [] });
    expect(browserErrors.slice(errorsBefore)).toEqual([]);
  });
});
