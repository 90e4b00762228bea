-- npsd initial schema (SQLite). Keep in step with migrations/postgres: same tables, same columns.
CREATE TABLE surveys (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    brand TEXT NOT NULL,
    question TEXT,
    sender TEXT,
    reply_to TEXT,
    locale TEXT NOT NULL DEFAULT 'en',
    send_delay_seconds BIGINT NOT NULL DEFAULT 0,
    throttle_days INTEGER NOT NULL DEFAULT 90,
    response_window_days INTEGER NOT NULL DEFAULT 30,
    accent_color TEXT NOT NULL DEFAULT '#2563eb',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '*',
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    transaction_id TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    name TEXT,
    locale TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    send_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    message_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (survey_id, transaction_id)
);
CREATE INDEX invitations_by_email ON invitations (survey_id, email_key, send_at);
CREATE INDEX invitations_by_sent ON invitations (survey_id, sent_at);

CREATE TABLE invitation_properties (
    invitation_id TEXT NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (invitation_id, name)
);
CREATE INDEX invitation_properties_by_value ON invitation_properties (name, value);

CREATE TABLE invitation_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    invitation_id TEXT NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX invitation_tokens_by_invitation ON invitation_tokens (invitation_id);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    invitation_id TEXT UNIQUE REFERENCES invitations(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_id TEXT,
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, due_at);

CREATE TABLE unsubscribes (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    email_key TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (survey_id, email_key)
);

CREATE TABLE responses (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    invitation_id TEXT UNIQUE REFERENCES invitations(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    responded_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX responses_by_survey ON responses (survey_id, status, responded_at);

CREATE TABLE link_events (
    id TEXT PRIMARY KEY NOT NULL,
    invitation_id TEXT NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    score INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX link_events_by_invitation ON link_events (invitation_id, created_at);
