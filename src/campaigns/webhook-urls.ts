/**
 * Save-time check of the hosts webhook actions call: each URL's host is resolved, and a host that
 * resolves to a loopback, private, link-local or metadata address (`http://vm:8080`,
 * `LOCALHOST.`, `metadata.google.internal`) or does not exist is refused with the reason, instead
 * of being accepted and failing at run time. Delivery checks again before every call
 * (webhooks.ts), since DNS can change after the save; a lookup that fails for a passing reason
 * (a timeout) does not block the save for the same reason.
 */
import type { CampaignDefinition } from './definition.js';
import { issueOf, type DefinitionIssue } from './validator.js';
import { vetWebhookUrl, WebhookRefused, type DnsResolver } from './webhooks.js';

export async function webhookHostIssues(definition: CampaignDefinition, dns: DnsResolver): Promise<DefinitionIssue[]> {
  const hooks = definition.nodes.flatMap((node) => (node.type === 'action' && node.config.kind === 'webhook' ? [{ nodeId: node.id, url: node.config.url }] : []));
  const issues = await Promise.all(
    hooks.map(async ({ nodeId, url }): Promise<DefinitionIssue | null> => {
      try {
        await vetWebhookUrl(url, dns);
        return null;
      } catch (error) {
        if (error instanceof WebhookRefused) return issueOf(nodeId, 'config.url', 'webhook_refused', { reason: error.message });
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return issueOf(nodeId, 'config.url', 'webhook_unresolvable', { host: new URL(url).hostname });
        return null;
      }
    }),
  );
  return issues.filter((issue): issue is DefinitionIssue => issue !== null);
}
