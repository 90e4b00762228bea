-- Addresses no survey may email again (bounces, complaints, manual). Keep in step across backends.
-- email_hash is the SHA-256 of the lower-cased address; email is cleared when the person is erased,
-- so the address stays unmailable without being kept.
CREATE TABLE suppressions (
    email_hash TEXT PRIMARY KEY NOT NULL,
    email TEXT,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX suppressions_by_created ON suppressions (created_at, email_hash);
CREATE INDEX invitations_by_person ON invitations (email_key);
