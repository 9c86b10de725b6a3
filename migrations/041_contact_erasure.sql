-- GDPR erasure: an erased contact keeps its row, events and messages (so campaign and engagement
-- counts stay true) but loses every piece of personal data; erased_at marks it and refuses edits.
ALTER TABLE contacts ADD COLUMN erased_at timestamptz;
