-- Inbound webhook triggers: a per-campaign secret, kept only as its SHA-256.
ALTER TABLE campaigns ADD COLUMN inbound_secret_hash text;
