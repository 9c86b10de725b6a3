-- Last activity: when the contact last did something itself — a tracked event, a page or screen
-- view, or opening, clicking or replying to an email (the events that count as engagement in lead
-- scoring). The event processor keeps the latest time in contact_engagement (an upsert, no contact
-- lock) and copies it onto the contact with the score, so lists can filter it through an index.
ALTER TABLE contact_engagement ADD COLUMN last_activity_at timestamptz;
ALTER TABLE contacts ADD COLUMN last_activity_at timestamptz;

WITH latest AS (
  SELECT contact_id, max(occurred_at) AS at
    FROM events
   WHERE contact_id IS NOT NULL
     AND (type IN ('track', 'page', 'screen') OR (type = 'email' AND name IN ('opened', 'clicked', 'replied')))
   GROUP BY contact_id
)
UPDATE contact_engagement ce SET last_activity_at = latest.at FROM latest WHERE ce.contact_id = latest.contact_id;
UPDATE contacts c SET last_activity_at = ce.last_activity_at
  FROM contact_engagement ce
 WHERE ce.contact_id = c.id AND ce.last_activity_at IS NOT NULL;

CREATE INDEX contacts_workspace_last_activity_idx ON contacts (workspace_id, last_activity_at);
