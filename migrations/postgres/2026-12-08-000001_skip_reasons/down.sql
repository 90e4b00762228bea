UPDATE invitations SET reason = skip_reason WHERE skip_reason IS NOT NULL;
ALTER TABLE invitations DROP COLUMN skip_reason;
