-- Contact search words are the runs of letters and digits of the email, names and company: every
-- ASCII punctuation mark separates words, as it does in a search query. Migration 015 translated
-- only the email's punctuation, so a company "Booking.com" was one token ('booking.com', a host to
-- the text-search parser) that the query word "booking" could only reach as a prefix. With both
-- sides split alike, a query word followed by punctuation ("person7@", "domain7.", "7,") is a
-- complete word and is looked up exactly, not as the prefix of every longer word (docs/contacts.md).
ALTER TABLE contacts DROP COLUMN search_document;
ALTER TABLE contacts ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
  to_tsvector('simple'::regconfig, translate(
    email || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(company, ''),
    '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
    '                                '))
) STORED;
CREATE INDEX contacts_search_idx ON contacts USING gin (search_document);
