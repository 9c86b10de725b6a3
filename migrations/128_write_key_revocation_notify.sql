-- Issue 19: every API process keeps resolved write keys in memory (src/events/write-key-cache.ts),
-- as it does API keys (migration 114). A write key that stops being valid — revoked, or deleted
-- with its workspace — is announced on the channel write_key_revoked (payload: the key's id) when
-- its transaction commits, whatever path changed it, and every process drops it from its cache.
CREATE FUNCTION write_key_revoked_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('write_key_revoked', OLD.id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER write_keys_revoked_notify
  AFTER UPDATE ON write_keys
  FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
  EXECUTE FUNCTION write_key_revoked_notify();

CREATE TRIGGER write_keys_deleted_notify
  AFTER DELETE ON write_keys
  FOR EACH ROW
  EXECUTE FUNCTION write_key_revoked_notify();
