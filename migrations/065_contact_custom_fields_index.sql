-- Custom field filters (`cf.plan=pro` on the contacts list) find rare values through this index:
-- the list adds a containment test (custom_fields @> '{"plan": "pro"}') for every value that only a
-- JSON string can equal as text, and keeps the exact text comparison as the final check.
-- jsonb_path_ops: one hashed entry per key/value path, smaller and cheaper to insert than jsonb_ops.
CREATE INDEX contacts_custom_fields_idx ON contacts USING gin (custom_fields jsonb_path_ops);
