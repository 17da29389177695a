-- One row per user who has ever created an upload: their own quota, where an operator
-- set one (NULL: the server's --quota-bytes / --quota-files), and the row a create locks
-- so that one user's creates check the quota one at a time, on every instance.
CREATE TABLE users (
    id        TEXT PRIMARY KEY,
    max_bytes BIGINT,
    max_files BIGINT
);
-- What a quota check sums: a user's files, and their uploads in progress.
CREATE INDEX files_owner_size ON files (owner, size);
CREATE INDEX uploads_owner_state ON uploads (owner, state, size);
