-- AI personalization and its governance (docs/ai.md). Provider and outcome names are persisted strings.

-- One provider setting per workspace; no row means the offline personalizer. The API key is
-- encrypted at rest like the email providers' credentials and never returned.
CREATE TABLE ai_settings (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (provider IN ('offline', 'openai', 'anthropic')),
  model text NOT NULL,
  base_url text,
  credentials_encrypted text,
  timeout_ms integer NOT NULL DEFAULT 10000 CHECK (timeout_ms BETWEEN 100 AND 120000),
  max_retries integer NOT NULL DEFAULT 2 CHECK (max_retries BETWEEN 0 AND 5),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- What a workspace's AI may do. No row means the defaults in src/ai/policy.ts.
CREATE TABLE ai_policies (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  allowed_providers text[] NOT NULL,
  -- Empty: every model with a price.
  allowed_models text[] NOT NULL,
  max_tokens integer NOT NULL CHECK (max_tokens BETWEEN 16 AND 32000),
  redact_pii boolean NOT NULL,
  -- Custom-field keys whose values are personal: redacted from prompts like emails and phones.
  personal_fields text[] NOT NULL,
  require_approval boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Price per million tokens, in the workspace's currency units; rows override the built-in table.
CREATE TABLE ai_prices (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (provider IN ('openai', 'anthropic')),
  model text NOT NULL,
  input_per_mtok numeric(14, 6) NOT NULL CHECK (input_per_mtok >= 0),
  output_per_mtok numeric(14, 6) NOT NULL CHECK (output_per_mtok >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, provider, model)
);

-- The monthly budget. No row: no limit (spend is still counted in ai_spend).
CREATE TABLE ai_budgets (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  monthly_limit numeric(14, 6) NOT NULL CHECK (monthly_limit > 0),
  warn_ratio numeric(4, 3) NOT NULL DEFAULT 0.8 CHECK (warn_ratio > 0 AND warn_ratio <= 1),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Spend per calendar month (UTC). A call reserves its worst-case cost in one conditional UPDATE
-- (spent + reserved + cost <= limit) and settles the actual cost afterwards, so concurrent
-- callers cannot together pass the limit.
CREATE TABLE ai_spend (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  month date NOT NULL,
  spent numeric(14, 6) NOT NULL DEFAULT 0,
  reserved numeric(14, 6) NOT NULL DEFAULT 0,
  warned_at timestamptz,
  exceeded_at timestamptz,
  PRIMARY KEY (workspace_id, month)
);

-- Budget thresholds crossed, for alerting (Guardian) to read: one row per kind per month.
CREATE TABLE ai_budget_alerts (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  month date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('warning', 'exceeded')),
  spent numeric(14, 6) NOT NULL,
  monthly_limit numeric(14, 6) NOT NULL,
  at timestamptz NOT NULL,
  UNIQUE (workspace_id, month, kind)
);

-- Every AI call, including refused and failed ones.
CREATE TABLE ai_calls (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  actor_type text NOT NULL,
  actor_id text,
  operation text NOT NULL CHECK (operation IN ('personalize', 'subject_variants', 'test_connection')),
  provider text NOT NULL,
  model text NOT NULL,
  tokens_in integer NOT NULL DEFAULT 0,
  tokens_out integer NOT NULL DEFAULT 0,
  cost numeric(14, 6) NOT NULL DEFAULT 0,
  latency_ms integer NOT NULL DEFAULT 0,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'fallback', 'refused', 'error')),
  reason_code text,
  reason text,
  message_id uuid,
  template_id uuid,
  campaign_id uuid,
  contact_id uuid,
  created_at timestamptz NOT NULL
);
CREATE INDEX ai_calls_workspace_created_idx ON ai_calls (workspace_id, created_at DESC);

-- Generated email variants, cached per (original content, contact, provider and model): a retried
-- send reuses its variant, and a workspace that requires approval keeps them pending until a
-- person approves or rejects them.
CREATE TABLE ai_variants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  content_hash text NOT NULL,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  generator text NOT NULL,
  campaign_id uuid,
  original jsonb NOT NULL,
  subject text NOT NULL,
  html text NOT NULL,
  text_body text NOT NULL,
  changes jsonb NOT NULL DEFAULT '[]'::jsonb,
  status text NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
  ai_call_id uuid,
  reviewed_by text,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL,
  UNIQUE (workspace_id, content_hash, contact_id, generator)
);
CREATE INDEX ai_variants_review_idx ON ai_variants (workspace_id, status, created_at);

-- A campaign email's personalization mode (set by the engine) and what happened at send time.
ALTER TABLE messages ADD COLUMN ai_mode text CHECK (ai_mode IN ('offline', 'provider'));
ALTER TABLE messages ADD COLUMN ai_outcome text;
ALTER TABLE messages ADD COLUMN ai_reason text;
