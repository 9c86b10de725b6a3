/**
 * The invitation email: transactional (no tracking, no unsubscribe), the same words whether or not
 * the address has an account — the page behind the link offers both log-in and sign-up.
 */
import { escapeHtml } from '../platform/html.js';
import type { Role } from './permissions.js';

const ROLE_WORDS: Record<Role, string> = {
  owner: 'an owner',
  admin: 'an admin',
  member: 'a member',
  viewer: 'a viewer',
};

export function invitationEmail(input: { link: string; workspaceName: string; inviterName: string | null; role: Role; expiresAt: Date }): {
  subject: string;
  html: string;
  text: string;
} {
  const who = input.inviterName ?? 'A workspace owner';
  const until = input.expiresAt.toISOString().slice(0, 10);
  const subject = `${who} invited you to ${input.workspaceName} on Unite Hub`;
  const text = [
    `${who} invited you to join ${input.workspaceName} on Unite Hub as ${ROLE_WORDS[input.role]}.`,
    '',
    `Accept the invitation: ${input.link}`,
    '',
    `The link works once and expires on ${until} (UTC). If you did not expect this invitation, ignore this email: nothing happens unless you accept.`,
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2933; line-height: 1.5;">
<p>${escapeHtml(who)} invited you to join <strong>${escapeHtml(input.workspaceName)}</strong> on Unite Hub as ${ROLE_WORDS[input.role]}.</p>
<p><a href="${escapeHtml(input.link)}" style="display: inline-block; padding: 10px 18px; background: #3b5bdb; color: #ffffff; border-radius: 6px; text-decoration: none;">Accept invitation</a></p>
<p style="color: #616e7c; font-size: 13px;">The link works once and expires on ${until} (UTC). If you did not expect this invitation, ignore this email: nothing happens unless you accept.</p>
</body></html>`;
  return { subject, html, text };
}
