-- Campaign "change score" actions adjust the lead score on purpose. The adjustment is kept apart
-- from the computed parts so that recomputing the score (as events arrive) keeps it.
ALTER TABLE contacts ADD COLUMN score_adjustment integer NOT NULL DEFAULT 0;
