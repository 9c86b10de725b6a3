-- A/B splits (docs/ab-testing.md): one row per campaign split node that has an automatic test or a
-- winner. The engine reads winner_variant: once set, later contacts reaching the split go to it
-- (a contact assigned there before keeps its variant). The evaluator, run in the engine worker's
-- tick, claims running rows whose next_check_at is due with FOR UPDATE SKIP LOCKED.
CREATE TABLE split_tests (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  node_id text NOT NULL,
  -- running: the automatic test still looks, decided: winner_variant is set (auto or by hand),
  -- inconclusive: the last look found no winner, cleared: a winner was cleared by hand (no more looks).
  status text NOT NULL CHECK (status IN ('running', 'decided', 'inconclusive', 'cleared')),
  looks integer NOT NULL DEFAULT 0,
  -- The share of alpha the looks taken so far have spent (alpha × looks / 4).
  alpha_spent double precision NOT NULL DEFAULT 0,
  next_check_at timestamptz,
  winner_variant text,
  decided_by text CHECK (decided_by IN ('auto', 'manual')),
  decided_at timestamptz,
  -- The last look or the decision: metric, per-variant counts and rates, p-value, the sentence.
  decision jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (campaign_id, node_id),
  CHECK ((status = 'decided') = (winner_variant IS NOT NULL))
);
CREATE INDEX split_tests_due_idx ON split_tests (next_check_at) WHERE status = 'running';
CREATE INDEX split_tests_workspace_idx ON split_tests (workspace_id, campaign_id);
