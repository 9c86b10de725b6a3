-- Issue 15: a campaign draft is saved whether valid or not (the builder autosaves), with the
-- problems found at save kept beside it, and carries a revision number that every save bumps, so
-- a save made from an older revision (another member saved meanwhile) is refused, not lost.
ALTER TABLE campaigns ADD COLUMN draft_revision integer NOT NULL DEFAULT 1;
ALTER TABLE campaigns ADD COLUMN draft_problems jsonb NOT NULL DEFAULT '[]'::jsonb;
