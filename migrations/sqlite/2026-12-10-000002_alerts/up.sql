-- Alerts (issue 21): per-survey rules that tell the team about matching answers by email, Slack
-- or Teams. Each rule reads the events after its own cursor, as a webhook endpoint does.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The rule's `when`, as JSON.
    conditions TEXT NOT NULL,
    -- JSON array of addresses.
    emails TEXT NOT NULL,
    slack_url TEXT,
    teams_url TEXT,
    -- 0: a message per answer; N: one summary every N minutes.
    summary_minutes INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    cursor_txid BIGINT NOT NULL,
    cursor_seq BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error TEXT,
    lease_id TEXT,
    lease_expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The answers a rule matched: one alert per rule and answer, however often the answer changes.
CREATE TABLE alert_matches (
    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    response_id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    matched_at TIMESTAMP NOT NULL,
    -- NULL while it waits for the rule's next summary.
    notified_at TIMESTAMP,
    -- The follow-up sent when the answer was discarded as a bot after its alert.
    discard_noted_at TIMESTAMP,
    PRIMARY KEY (rule_id, response_id)
);
CREATE INDEX alert_matches_by_survey ON alert_matches (survey_id, notified_at);

-- What a job needs beyond its row (an alert email: the rule, the answers, the kind), as JSON.
ALTER TABLE outbox ADD COLUMN payload TEXT;
