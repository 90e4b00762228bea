-- What a link token may do. A survey email carries two: one for its score links ('answer') and
-- one for its unsubscribe link and List-Unsubscribe header ('unsubscribe'), so whoever sees the
-- unsubscribe URL (mailbox providers, gateways) cannot answer the survey. Tokens from before
-- this migration were both: they stay 'answer', which the unsubscribe page accepts too.
ALTER TABLE invitation_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'answer';
