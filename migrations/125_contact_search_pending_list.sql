-- A GIN index first appends new entries to an unsorted pending list (fastupdate) and merges them
-- into its tree only when the list outgrows gin_pending_list_limit (4 MB by default) or a VACUUM
-- runs. Every search through contacts_search_idx reads the whole pending list: up to 4 MB, about
-- 25,000 contacts' words, compared one by one — as much CPU as testing every contact of a
-- 10,000-contact workspace — and the planner, seeing those pages, prefers a sequential scan over
-- the table. At 64 kB (the smallest allowed) the list holds about 400 contacts' words; the
-- inserting backend merges it into the tree that much more often, still in batches.
ALTER INDEX contacts_search_idx SET (gin_pending_list_limit = 64);
SELECT gin_clean_pending_list('contacts_search_idx'::regclass);
