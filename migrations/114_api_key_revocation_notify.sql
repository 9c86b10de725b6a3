-- Issue 19: every API process keeps resolved API keys in memory (src/identity/api-key-cache.ts).
-- A key that stops being valid — revoked, or deleted with its workspace — is announced on the
-- channel api_key_revoked (payload: the key's id) when its transaction commits, whatever path
-- changed it, and every process drops it from its cache.
CREATE FUNCTION api_key_revoked_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('api_key_revoked', OLD.id::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_revoked_notify
  AFTER UPDATE OF revoked_at, role, key_hash, workspace_id ON api_keys
  FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.role IS DISTINCT FROM NEW.role OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
  EXECUTE FUNCTION api_key_revoked_notify();

CREATE TRIGGER api_keys_deleted_notify
  AFTER DELETE ON api_keys
  FOR EACH ROW
  EXECUTE FUNCTION api_key_revoked_notify();
