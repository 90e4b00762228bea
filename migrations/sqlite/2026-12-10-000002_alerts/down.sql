ALTER TABLE outbox DROP COLUMN payload;
DROP TABLE alert_matches;
DROP TABLE alert_rules;
