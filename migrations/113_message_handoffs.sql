-- The sender's journal of hand-offs (docs/email.md, "When a process dies"; src/email/send-journal.ts).
-- A row is written, in batches and committed, right before a message's data or HTTP request leaves
-- for a provider (accepted = false: the hand-off mark), and another as soon as the provider accepted
-- it (accepted = true, with the provider's id); both are deleted with the message's outcome. A dead
-- holder's 'sending' message is settled by the rows of its current claim (claim_token): none, it
-- certainly never left; a mark, it may have been accepted; an acceptance, it was sent.
--
-- Narrow, insert-only rows instead of the hand-off columns of `messages` (migration 089): a mark or
-- an acceptance written there was a new version of a wide row (its HTML) and an entry in each of the
-- table's ten indexes, twice per email. The columns stay, read by the reclaim, for messages marked
-- by a process of an earlier version during a rolling deploy.
CREATE TABLE message_handoffs (
  workspace_id uuid NOT NULL,
  message_id uuid NOT NULL,
  claim_token uuid NOT NULL,
  accepted boolean NOT NULL,
  provider text NOT NULL,
  idempotent boolean,
  provider_message_id text,
  at timestamptz NOT NULL
);
CREATE INDEX message_handoffs_message_idx ON message_handoffs (message_id);
