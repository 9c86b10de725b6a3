-- event_work's id lists are random UUIDs, which do not compress: a 5,000-row import chunk's
-- 11,000 event ids (176 kB) went through pglz on every insert for nothing (seen in `perf` of an
-- import). They are stored out of line, uncompressed.
ALTER TABLE event_work ALTER COLUMN event_ids SET STORAGE EXTERNAL;
ALTER TABLE event_work ALTER COLUMN contact_ids SET STORAGE EXTERNAL;
