-- Post-upload processing: a durable queue of jobs in the database, shared by every
-- instance. A job is claimed by setting locked_until (a lease); a worker that dies
-- leaves its lease to run out, and another worker (or the same server, restarted)
-- takes the job again. Files stored before processing existed count as processed.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    file_id      TEXT NOT NULL,
    owner        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);
ALTER TABLE files ADD COLUMN processing TEXT NOT NULL DEFAULT 'done';
ALTER TABLE files ADD COLUMN detected_type TEXT;
ALTER TABLE files ADD COLUMN processing_note TEXT;
