-- The lasting record of spinbot. Redis holds the live state; this keeps what happened.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,            -- namespace:id
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A user's photos that a face was found in.
CREATE TABLE avatars (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object_key  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A user's voice notes and chosen voices.
CREATE TABLE voices (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    object_key  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    result_key   TEXT,
    reason       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at DESC);

-- Every event a job emitted, once: the Redis stream id is the key.
CREATE TABLE job_events (
    stream_id   TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    event       JSONB NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, at);

-- Files a job produced.
CREATE TABLE artifacts (
    id          BIGSERIAL PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    object_key  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at  TIMESTAMPTZ
);

-- Videos posted back into a chat (exactly once per job and chat).
CREATE TABLE deliveries (
    job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    message_id    TEXT,
    delivered_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, platform, chat_id)
);
