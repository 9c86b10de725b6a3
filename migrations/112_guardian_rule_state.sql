-- Guardian: the evaluator's per-rule state moves out of guardian_rules into a narrow table of its
-- own (docs/guardian.md#evaluation). Every evaluation round rewrites this state for every rule; in
-- guardian_rules that was a wide row with four indexes to update per rule (the due index on
-- next_eval_at makes it a non-HOT update), here it is ~80 bytes with two indexes, on pages kept
-- half empty. guardian_rules.next_eval_at stays as the schedule a person's change asks for ("evaluate
-- at the next tick"); a trigger copies it (and `enabled`) into the state, so every writer of rules
-- — the API, default rules, migrations, tests — schedules through the one column it always set.
CREATE TABLE guardian_rule_state (
  rule_id uuid PRIMARY KEY REFERENCES guardian_rules(id) ON DELETE CASCADE,
  enabled boolean NOT NULL,
  -- When the evaluator next claims the rule (FOR UPDATE SKIP LOCKED on this row).
  next_eval_at timestamptz NOT NULL,
  last_evaluated_at timestamptz,
  last_value double precision,
  last_volume double precision
) WITH (fillfactor = 50);
CREATE INDEX guardian_rule_state_due_idx ON guardian_rule_state (next_eval_at) WHERE enabled;

INSERT INTO guardian_rule_state (rule_id, enabled, next_eval_at, last_evaluated_at, last_value, last_volume)
SELECT id, enabled, next_eval_at, last_evaluated_at, last_value, last_volume FROM guardian_rules;

DROP INDEX guardian_rules_due_idx;
ALTER TABLE guardian_rules DROP COLUMN last_evaluated_at, DROP COLUMN last_value, DROP COLUMN last_volume;

CREATE FUNCTION guardian_rule_schedule() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO guardian_rule_state (rule_id, enabled, next_eval_at) VALUES (NEW.id, NEW.enabled, NEW.next_eval_at)
  ON CONFLICT (rule_id) DO UPDATE SET enabled = EXCLUDED.enabled, next_eval_at = EXCLUDED.next_eval_at;
  RETURN NULL;
END;
$$;
CREATE TRIGGER guardian_rule_schedule AFTER INSERT OR UPDATE OF enabled, next_eval_at ON guardian_rules
  FOR EACH ROW EXECUTE FUNCTION guardian_rule_schedule();
