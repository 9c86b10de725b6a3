-- A score's explanation is rendered when a contact is read, from the inputs it was computed from,
-- stored with the score (contacts.score_inputs: the engagement counters, job title, status and
-- campaign adjustment), instead of as ~700 bytes of prose JSON on every contact: that more than
-- doubled the row every import writes, every list scans and every score update rewrites.
ALTER TABLE contacts ADD COLUMN score_inputs jsonb;
UPDATE contacts
   SET score_inputs = jsonb_build_object(
         'jobTitle', job_title, 'status', status, 'scoreAdjustment', score_adjustment,
         'opens', 0, 'clicks', 0, 'replies', 0, 'activity', 0, 'sentimentSum', 0, 'sentimentCount', 0,
         'maxIntent', 0, 'intentReason', NULL)
 WHERE score_breakdown IS NOT NULL;
UPDATE contacts c
   SET score_inputs = c.score_inputs || jsonb_build_object(
         'opens', e.opens, 'clicks', e.clicks, 'replies', e.replies, 'activity', e.activity,
         'sentimentSum', e.sentiment_sum, 'sentimentCount', e.sentiment_count, 'maxIntent', e.max_intent,
         'intentReason', e.intent_reason)
  FROM contact_engagement e
 WHERE e.contact_id = c.id AND c.score_inputs IS NOT NULL;
ALTER TABLE contacts DROP COLUMN score_breakdown;
