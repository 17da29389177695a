-- How storage checks an upload's bytes: 'sha256' (per part, and the composite at
-- complete) or 'crc64nvme' (per part, and the whole object at complete). Rows from
-- before the choice existed were all SHA-256.
ALTER TABLE uploads ADD COLUMN checksum_mode TEXT NOT NULL DEFAULT 'sha256';
ALTER TABLE files ADD COLUMN checksum_mode TEXT NOT NULL DEFAULT 'sha256';
