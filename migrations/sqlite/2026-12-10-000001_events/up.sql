-- Events (issue 21): one row per change, appended by triggers in the transaction of the change, so
-- there is never an event without its change nor a change without its event, whatever door made
-- it. SQLite has one writer: events commit in seq order, and txid stays 0 (on PostgreSQL it is
-- the writing transaction's id, see the PostgreSQL migration), so readers go by seq alone, the
-- primary key. AUTOINCREMENT: a seq is never reused, even once the newest rows are gone, so a
-- reader's cursor never passes over a new event. An event's id is `evt_` and its seq.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    txid BIGINT NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    survey_id TEXT,
    -- What it is about: the answer's or the invitation's id (UUIDv7: appended near the end of
    -- its index), or for an unsubscribe or a bounce the lower-cased address. Erasure finds a
    -- person's events by these.
    subject_id TEXT,
    -- What changed (previous values, the source of an unsubscribe...), as JSON.
    data TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX events_by_subject ON events (subject_id);

CREATE TRIGGER responses_events_after_insert AFTER INSERT ON responses FOR EACH ROW BEGIN
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    VALUES ('response.created', NEW.survey_id, NEW.id, '{}', NEW.updated_at);
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    SELECT 'comment.added', NEW.survey_id, NEW.id, '{}', NEW.updated_at
    WHERE COALESCE(NEW.comment, '') <> '';
END;

CREATE TRIGGER responses_events_after_update AFTER UPDATE ON responses FOR EACH ROW
WHEN OLD.score IS NOT NEW.score OR OLD.status IS NOT NEW.status OR OLD.comment IS NOT NEW.comment
BEGIN
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    SELECT 'comment.added', NEW.survey_id, NEW.id, '{}', NEW.updated_at
    WHERE COALESCE(OLD.comment, '') = '' AND COALESCE(NEW.comment, '') <> '';
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    SELECT 'response.updated', NEW.survey_id, NEW.id,
           json_object('previous', json_object('score', OLD.score, 'comment', OLD.comment, 'status', OLD.status)),
           NEW.updated_at
    WHERE OLD.score IS NOT NEW.score OR OLD.status IS NOT NEW.status
       OR (COALESCE(OLD.comment, '') <> '' AND OLD.comment IS NOT NEW.comment);
END;

CREATE TRIGGER invitations_events_after_update AFTER UPDATE ON invitations FOR EACH ROW
WHEN OLD.status IS NOT NEW.status AND NEW.status IN ('sent', 'failed')
BEGIN
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    VALUES (CASE NEW.status WHEN 'sent' THEN 'invitation.sent' ELSE 'invitation.failed' END,
            NEW.survey_id, NEW.id,
            CASE WHEN NEW.status = 'failed' THEN json_object('reason', NEW.reason) ELSE '{}' END,
            NEW.updated_at);
END;

CREATE TRIGGER unsubscribes_events_after_insert AFTER INSERT ON unsubscribes FOR EACH ROW BEGIN
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    VALUES ('unsubscribe.created', NEW.survey_id, NEW.email_key,
            json_object('source', NEW.source), NEW.created_at);
END;

CREATE TRIGGER suppressions_events_after_insert AFTER INSERT ON suppressions FOR EACH ROW
WHEN NEW.reason = 'bounce'
BEGIN
    INSERT INTO events (type, survey_id, subject_id, data, occurred_at)
    VALUES ('bounce.created', NULL, lower(NEW.email), '{}', NEW.created_at);
END;

-- Webhook endpoints. Each reads the events after its cursor, in order, one at a time: the next
-- is posted once the one before was delivered or given up, so deliveries are in order per
-- endpoint and at least once (a process killed between the POST and the cursor's move posts it
-- again, with the same webhook-id). A lease keeps a second instance off an endpoint being served.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of event types; empty: every type.
    events TEXT NOT NULL,
    survey_id TEXT REFERENCES surveys(id) ON DELETE CASCADE,
    description TEXT,
    -- 'standard' (Standard Webhooks) or 'delighted' (Delighted's payload shape).
    format TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    cursor_txid BIGINT NOT NULL,
    cursor_seq BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    failing_since TIMESTAMP,
    lease_id TEXT,
    lease_expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every attempt to deliver an event to an endpoint, kept as long as events are.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    -- 'delivered', 'retrying' or 'failed'.
    outcome TEXT NOT NULL,
    response_code INTEGER,
    response_body TEXT,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
