-- Contact search: every word of the query must start a word of the email (split at @ . + _ -),
-- the names or the company. A GIN index over this expression answers it over millions of
-- contacts (substring ILIKE would scan them all; pg_trgm is an extension, which we do not use).
-- The expression must stay identical to contactSearchVector in src/contacts/contacts.ts.
CREATE INDEX contacts_search_idx ON contacts USING gin (
  to_tsvector('simple'::regconfig, translate(email, '@.+_-', '     ') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(company, ''))
);
