/** Shared helpers of the A/B split tests (not shipped code paths): a seeded PRNG, bulk contacts, publishing. */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Queryable } from '../src/db/database.js';
import type { Caller } from './helpers.js';

/** mulberry32: a small seeded PRNG, so a simulation sees the same numbers on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let batch = 0;
/**
 * Inserts `n` subscribed contacts in one statement; returns their ids in insertion order. With a
 * `label` the ids are md5(label:i) — the same on every run, so a split (which hashes the contact id)
 * assigns the same variants every time and a seeded simulation gives the same outcome.
 */
export async function insertContacts(q: Queryable, workspaceId: string, n: number, label?: string): Promise<string[]> {
  batch += 1;
  const tag = label ?? `${Date.now().toString(36)}-${batch}-${Math.random().toString(36).slice(2)}`;
  const result = await q.query<{ id: string }>(
    `INSERT INTO contacts (id, workspace_id, email, first_name)
     SELECT md5($2 || ':' || g)::uuid, $1, 'ab-' || md5($2) || '-' || g || '@example.com', 'Ada' FROM generate_series(1, $3::int) AS g
     ORDER BY g
     RETURNING id`,
    [workspaceId, tag, n],
  );
  return result.rows.map((r) => r.id);
}

/** Creates and publishes a campaign through the API; returns its id. */
export async function publishCampaign(app: FastifyInstance, caller: Caller, name: string, definition: Record<string, unknown>): Promise<string> {
  const created = await app.inject({ method: 'POST', url: '/api/campaigns', headers: caller.bearer, payload: { name, definition } });
  expect(created.statusCode, created.body).toBe(201);
  const id = (created.json() as { campaign: { id: string } }).campaign.id;
  const published = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/publish`, headers: caller.bearer });
  expect(published.statusCode, published.body).toBe(200);
  return id;
}
