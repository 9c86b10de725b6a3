-- Contacts: the lead score's explanation (one entry per part) beside the score itself.
ALTER TABLE contacts ADD COLUMN score_breakdown jsonb;
-- Filters on the contacts list: status and score within a workspace, tags by containment.
CREATE INDEX contacts_workspace_status_idx ON contacts (workspace_id, status);
CREATE INDEX contacts_workspace_score_idx ON contacts (workspace_id, score);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
-- The timeline reads a contact's messages newest first.
CREATE INDEX messages_contact_idx ON messages (workspace_id, contact_id, created_at DESC);
