-- 'uncertain': the provider may or may not have accepted the message (a timeout or a dropped
-- connection after the whole request was sent) and it has no idempotency key, so neither a
-- retry nor a failover is safe. The message waits for an operator: resend or mark sent.
-- send_attempts gains 'ambiguous' (that attempt) and 'marked_sent' (the operator's decision).
-- Persisted strings: never rename.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'suppressed', 'uncertain'));
ALTER TABLE send_attempts DROP CONSTRAINT send_attempts_result_check;
ALTER TABLE send_attempts ADD CONSTRAINT send_attempts_result_check CHECK (result IN ('sent', 'transient_error', 'permanent_error', 'suppressed', 'ambiguous', 'marked_sent'));
-- The Messages page lists parked messages for the operator.
CREATE INDEX messages_uncertain_idx ON messages (workspace_id, created_at DESC) WHERE status = 'uncertain';
