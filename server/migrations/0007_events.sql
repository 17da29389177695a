-- The changes each user's devices hear of live (GET /api/events), numbered per user so
-- that a reconnecting client asks for what came after the last one it saw. A user's
-- counter lives on their row, which a change locks: one user's events are numbered in
-- the order their changes commit, on any number of instances.
ALTER TABLE users ADD COLUMN last_event BIGINT NOT NULL DEFAULT 0;
CREATE TABLE events (
    owner      TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    -- The event as GET /api/events sends it (JSON of partway's RemoteEvent).
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, seq)
);
CREATE INDEX events_age ON events (created_at);
