-- The NPS digest: per-survey settings, one record per (survey, period) claimed before sending,
-- and the outbox as a general job queue (a job is a survey email or one recipient's digest).
-- Keep in step across backends.
ALTER TABLE surveys ADD COLUMN digest_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- One address per line.
ALTER TABLE surveys ADD COLUMN digest_recipients TEXT NOT NULL DEFAULT '';
ALTER TABLE surveys ADD COLUMN digest_weekday TEXT NOT NULL DEFAULT 'mon';
ALTER TABLE surveys ADD COLUMN digest_hour INTEGER NOT NULL DEFAULT 9;
ALTER TABLE surveys ADD COLUMN digest_time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE surveys ADD COLUMN digest_period TEXT NOT NULL DEFAULT 'weekly';
-- When the digest was last enabled or its slot moved: no period ending before then is sent.
ALTER TABLE surveys ADD COLUMN digest_changed_at TIMESTAMP;

CREATE TABLE digests (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    period_key TEXT NOT NULL,
    period_start TIMESTAMP NOT NULL,
    period_end TIMESTAMP NOT NULL,
    -- queued (its recipients' jobs are in the outbox) or paused (silent too long: nothing sent)
    status TEXT NOT NULL,
    responses INTEGER NOT NULL,
    pausing BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (survey_id, period_key)
);

ALTER TABLE outbox ADD COLUMN digest_id TEXT REFERENCES digests(id) ON DELETE CASCADE;
ALTER TABLE outbox ADD COLUMN recipient TEXT;
CREATE UNIQUE INDEX outbox_digest_recipient ON outbox (digest_id, recipient);

-- The one-click unsubscribe links of digests: the SHA-256 of the token, per survey and address.
CREATE TABLE digest_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    recipient TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
