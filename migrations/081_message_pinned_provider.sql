-- After an ambiguous failure on a provider that honours idempotency keys (it may hold the
-- message), the retries of that message go to that provider alone: another one could deliver a
-- second copy. NULL: any provider of the workspace, in priority order.
ALTER TABLE messages ADD COLUMN pinned_provider text;
