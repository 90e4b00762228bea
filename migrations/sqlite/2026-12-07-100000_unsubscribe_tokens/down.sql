ALTER TABLE invitation_tokens DROP COLUMN purpose;
