-- Declared custom fields: a workspace gives some keys of contacts.custom_fields a label and a
-- type, and every writer (API, import, identify traits, campaign actions) converts values to
-- that type or refuses them (src/contacts/custom-fields.ts). Undeclared keys stay free-form.
-- type is a persisted string: never rename.
CREATE TABLE custom_field_definitions (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 64),
  label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  type text NOT NULL CHECK (type IN ('text', 'number', 'boolean', 'date')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, key)
);

-- Whether a text is a calendar date written YYYY-MM-DD (the stored form of a 'date' field).
CREATE FUNCTION is_iso_date(value text) RETURNS boolean AS $$
BEGIN
  IF value IS NULL OR value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
    RETURN false;
  END IF;
  RETURN to_char(value::date, 'YYYY-MM-DD') = value;
EXCEPTION WHEN others THEN
  RETURN false;
END
$$ LANGUAGE plpgsql IMMUTABLE;

-- A stored custom-field value converted to a declared type, or NULL when it cannot be: the same
-- rules as coerceCustomValue in src/contacts/custom-fields.ts (a test runs both over one table
-- of inputs). Used when a type is declared or changed, to convert the values already stored.
CREATE FUNCTION custom_value_as(value jsonb, type text) RETURNS jsonb AS $$
DECLARE
  kind text := jsonb_typeof(value);
  str text := CASE WHEN kind = 'string' THEN btrim(value #>> '{}', E' \t\r\n') END;
  stamp timestamptz;
BEGIN
  IF type = 'text' THEN
    IF kind = 'string' THEN RETURN CASE WHEN char_length(value #>> '{}') <= 2000 THEN value END; END IF;
    IF kind IN ('number', 'boolean') THEN RETURN to_jsonb(value #>> '{}'); END IF;
    RETURN NULL;
  ELSIF type = 'number' THEN
    IF kind = 'number' THEN RETURN value; END IF;
    IF kind = 'string' AND str ~ '^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$' AND char_length(str) <= 40 THEN
      RETURN to_jsonb(str::float8);
    END IF;
    RETURN NULL;
  ELSIF type = 'boolean' THEN
    IF kind = 'boolean' THEN RETURN value; END IF;
    IF kind = 'number' AND value::numeric IN (0, 1) THEN RETURN to_jsonb(value::numeric = 1); END IF;
    IF kind = 'string' AND lower(str) IN ('true', 'yes', '1') THEN RETURN 'true'::jsonb; END IF;
    IF kind = 'string' AND lower(str) IN ('false', 'no', '0') THEN RETURN 'false'::jsonb; END IF;
    RETURN NULL;
  ELSIF type = 'date' THEN
    IF kind <> 'string' THEN RETURN NULL; END IF;
    IF is_iso_date(str) THEN RETURN to_jsonb(str); END IF;
    IF str ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[-+][0-9]{2}:[0-9]{2})$' THEN
      stamp := str::timestamptz;
      RETURN to_jsonb(to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD'));
    END IF;
    RETURN NULL;
  END IF;
  RETURN NULL;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$ LANGUAGE plpgsql IMMUTABLE;
