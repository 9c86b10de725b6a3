/** Shared helpers of the campaign tests (not shipped code paths). */
import type { Queryable } from '../src/db/database.js';
import type { TestApp } from './helpers.js';
import type { CampaignEngine } from '../src/campaigns/engine.js';

export function engineOf(t: TestApp): CampaignEngine {
  const worker = t.runtime.workers.find((w) => w.name === 'campaign-engine') as unknown as { engine: CampaignEngine } | undefined;
  if (!worker) throw new Error('campaign engine worker is not wired');
  return worker.engine;
}

let n = 0;
export async function insertContact(q: Queryable, workspaceId: string, fields: Record<string, unknown> = {}): Promise<string> {
  n += 1;
  const result = await q.query<{ id: string }>(
    `INSERT INTO contacts (workspace_id, email, first_name, last_name, tags, custom_fields, subscription_state, score, timezone)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      workspaceId,
      fields.email ?? `contact-${n}-${Math.random().toString(36).slice(2)}@example.com`,
      fields.first_name ?? 'Ada',
      fields.last_name ?? null,
      fields.tags ?? [],
      JSON.stringify(fields.custom_fields ?? {}),
      fields.subscription_state ?? 'subscribed',
      fields.score ?? 0,
      fields.timezone ?? null,
    ],
  );
  return result.rows[0]!.id;
}

export const DAY = 86_400_000;

/** trigger(manual) → email → wait(3 days) → email → exit */
export function dripDefinition(): Record<string, unknown> {
  return {
    entryNodeId: 'start',
    nodes: [
      { id: 'start', type: 'trigger', config: { kind: 'manual' } },
      { id: 'welcome', type: 'email', config: { subject: 'Welcome {{ contact.first_name }}', html: '<p>Hi {{ contact.first_name }} from {{ workspace.name }}</p>' } },
      { id: 'pause', type: 'wait', config: { kind: 'duration', seconds: 3 * 86_400 } },
      { id: 'followup', type: 'email', config: { subject: 'Still there?', html: '<p>{{ campaign.name }}</p>' } },
      { id: 'end', type: 'exit', config: { reason: 'done' } },
    ],
    edges: [
      { from: 'start', to: 'welcome' },
      { from: 'welcome', to: 'pause' },
      { from: 'pause', to: 'followup' },
      { from: 'followup', to: 'end' },
    ],
  };
}
