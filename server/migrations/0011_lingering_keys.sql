-- Keys that a signed URL may still write to after their upload ended: an S3 PutObject
-- URL (a small file of one part) works until it expires, even after a cancel or a
-- delete. The sweep deletes each such key again once `delete_at` has passed.
CREATE TABLE lingering_keys (
    storage_key TEXT PRIMARY KEY,
    delete_at   BIGINT NOT NULL
);

CREATE INDEX lingering_keys_due ON lingering_keys (delete_at);
