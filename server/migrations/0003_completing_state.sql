-- The complete saga: an upload being completed is claimed ('completing') by a
-- conditional update, so that no abort, sweep or second complete acts on it while
-- storage joins its parts; updated_at is then when it was claimed. A CHECK cannot be
-- altered portably, so the table is rebuilt with the new state allowed.
CREATE TABLE uploads_next (
    id                TEXT PRIMARY KEY,
    owner             TEXT NOT NULL,
    name              TEXT NOT NULL,
    size              BIGINT NOT NULL,
    content_type      TEXT NOT NULL,
    last_modified     BIGINT,
    part_size         BIGINT NOT NULL,
    part_count        BIGINT NOT NULL,
    storage_key       TEXT NOT NULL,
    storage_upload_id TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'completing', 'completed', 'aborted')),
    parts             TEXT,
    file_id           TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
INSERT INTO uploads_next
    SELECT id, owner, name, size, content_type, last_modified, part_size, part_count,
           storage_key, storage_upload_id, state, parts, file_id, created_at, updated_at
    FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_next RENAME TO uploads;
CREATE INDEX uploads_owner ON uploads (owner);
CREATE INDEX uploads_idle ON uploads (state, updated_at);
