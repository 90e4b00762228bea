-- Why an invitation was skipped gets its own column: `reason` held both these and the SMTP
-- server's reply to a failed send. Skipped invitations move their reason over; `reason` keeps
-- only SMTP replies.
ALTER TABLE invitations ADD COLUMN skip_reason TEXT
    CHECK (skip_reason IN ('suppressed', 'unsubscribed', 'throttled', 'cancelled'));
UPDATE invitations SET skip_reason = reason, reason = NULL
    WHERE status = 'skipped' AND reason IN ('suppressed', 'unsubscribed', 'throttled', 'cancelled');
