DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TRIGGER suppressions_events_after_insert;
DROP TRIGGER unsubscribes_events_after_insert;
DROP TRIGGER invitations_events_after_update;
DROP TRIGGER responses_events_after_update;
DROP TRIGGER responses_events_after_insert;
DROP TABLE events;
