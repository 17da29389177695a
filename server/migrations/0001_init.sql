-- Uploads in progress (and their outcome), and the files they produced.
-- Portable SQL: the same migrations run on SQLite and PostgreSQL. Every number is
-- BIGINT, so both engines hand back the same type.

CREATE TABLE uploads (
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
    state             TEXT NOT NULL CHECK (state IN ('active', 'completed', 'aborted')),
    -- JSON array of {part_number, etag}, filled at complete.
    parts             TEXT,
    file_id           TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE INDEX uploads_owner ON uploads (owner);

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    name         TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT,
    upload_id    TEXT UNIQUE,
    created_at   BIGINT NOT NULL
);

CREATE INDEX files_owner ON files (owner, created_at);
