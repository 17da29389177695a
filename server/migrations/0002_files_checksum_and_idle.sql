-- Storage's own checksum of a stored object (for S3 with per-part SHA-256, the
-- composite "<base64>-<parts>"), and an index for the sweep of idle uploads.
ALTER TABLE files ADD COLUMN checksum TEXT;
CREATE INDEX uploads_idle ON uploads (state, updated_at);
