-- Who holds claimed work (docs/email.md, "When a process dies"). Every process that claims
-- messages or webhook deliveries takes a holder id from this sequence and holds a session-level
-- advisory lock (classid 1970170112, objid = the id) on a connection of its own for as long as it
-- lives. A claim records the holder; a holder whose lock is gone (its process died, so PostgreSQL
-- closed its session) is dead, and any live process reclaims its work within about a second,
-- instead of waiting out a lease.
CREATE SEQUENCE work_holder_ids AS integer MINVALUE 1 CYCLE;

-- The process holding a 'sending' message, and the hand-off mark: set (in batches, committed)
-- right before the message's data or HTTP request leaves for a provider, cleared with the
-- outcome. A dead holder's message without the mark certainly never left (sent again at once);
-- with it, it may have been accepted: 'uncertain' on a provider without idempotency keys, sent
-- again with the same key (pinned to that provider) on one that honours them.
ALTER TABLE messages ADD COLUMN holder_id integer;
ALTER TABLE messages ADD COLUMN handed_to text;
ALTER TABLE messages ADD COLUMN handed_idempotent boolean;
ALTER TABLE messages ADD COLUMN handed_at timestamptz;
-- Set (in batches) as soon as the provider accepted, before the full outcome is written: a dead
-- holder's message with it was sent, and is recorded so by the reclaim.
ALTER TABLE messages ADD COLUMN accepted_at timestamptz;
-- The reclaim scan: only messages in flight are in it.
CREATE INDEX messages_sending_holder_idx ON messages (holder_id) WHERE status = 'sending';

-- The process delivering a campaign webhook (NULL when none is).
ALTER TABLE campaign_webhooks ADD COLUMN holder_id integer;
CREATE INDEX campaign_webhooks_holder_idx ON campaign_webhooks (holder_id) WHERE holder_id IS NOT NULL;
