-- Events are the high-volume, append-only log: a million-row import writes over two million, and
-- ingestion writes one per tracked message. Their two foreign keys ran two row-level trigger
-- queries per inserted event (measured: over a third of the PostgreSQL CPU of an import chunk),
-- so they go. What they guaranteed is kept by the code that changes the referenced rows:
--   * deleting a contact deletes its events in the same transaction (src/contacts/contacts.ts);
--     merging moves them to the kept contact (src/contacts/merge.ts); erasure keeps the contact;
--   * workspaces are never deleted (a workspace deletion must delete its events explicitly).
-- Every reader reaches events through a contact or a workspace it already holds, and the event
-- processor skips events whose contact is gone (an event recorded while its contact was being
-- deleted can outlive it; docs/events.md).
ALTER TABLE events DROP CONSTRAINT events_contact_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_workspace_id_fkey;
