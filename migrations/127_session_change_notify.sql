-- Issue 19: every API process keeps resolved session cookies in memory (src/identity/session-cache.ts),
-- as it does API keys (migration 114). A session that ends or would resolve differently is
-- announced on the channel session_changed (payload: the user's id) when its transaction commits,
-- whatever path changed it, and every process drops that user's cached sessions: a session deleted
-- (log-out, removal from the workspace, its user or workspace deleted) or moved to another workspace,
-- a membership's role changed or the membership removed, a user's name or email changed.
CREATE FUNCTION session_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0]: the column holding the user's id (user_id, or id on users).
  PERFORM pg_notify('session_changed', to_jsonb(OLD) ->> TG_ARGV[0]);
  RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_changed_notify
  AFTER UPDATE ON sessions
  FOR EACH ROW
  WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
        OR OLD.csrf_token IS DISTINCT FROM NEW.csrf_token OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION session_changed_notify('user_id');

CREATE TRIGGER sessions_deleted_notify
  AFTER DELETE ON sessions
  FOR EACH ROW
  EXECUTE FUNCTION session_changed_notify('user_id');

CREATE TRIGGER memberships_changed_notify
  AFTER UPDATE ON memberships
  FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
  EXECUTE FUNCTION session_changed_notify('user_id');

CREATE TRIGGER memberships_deleted_notify
  AFTER DELETE ON memberships
  FOR EACH ROW
  EXECUTE FUNCTION session_changed_notify('user_id');

CREATE TRIGGER users_changed_notify
  AFTER UPDATE ON users
  FOR EACH ROW
  WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION session_changed_notify('id');

CREATE TRIGGER users_deleted_notify
  AFTER DELETE ON users
  FOR EACH ROW
  EXECUTE FUNCTION session_changed_notify('id');
