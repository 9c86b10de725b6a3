-- Contact search: every word of the query must start a word of the email (split at @ . + _ -),
-- the names or the company. The document is a stored generated column, so neither the GIN index
-- nor a filtered ordered scan recomputes it per row; the GIN index answers rare words over
-- millions of contacts (substring ILIKE would scan them all; pg_trgm is an extension, not used).
ALTER TABLE contacts ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
  to_tsvector('simple'::regconfig, translate(email, '@.+_-', '     ') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(company, ''))
) STORED;
CREATE INDEX contacts_search_idx ON contacts USING gin (search_document);
