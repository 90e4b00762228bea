-- People: one row per address, with a stable id (Delighted's API names people by id), made when
-- a transaction, an answer or an import first names the address. Keep in step across backends.
CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    -- The lower-cased address.
    email_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    name TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_by_created ON people (created_at, id);

-- The people already known: from their invitations, then from answers that gave an address.
INSERT INTO people (id, email_key, email, name, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), email_key, max(email), max(name), min(created_at), max(updated_at)
    FROM invitations GROUP BY email_key;
INSERT INTO people (id, email_key, email, name, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), email_key, max(email), max(name), min(created_at), max(updated_at)
    FROM responses
    WHERE email_key IS NOT NULL AND email IS NOT NULL
      AND email_key NOT IN (SELECT email_key FROM people)
    GROUP BY email_key;

-- The survey a key's Delighted-compatible requests use; NULL: the survey 'default'.
ALTER TABLE api_keys ADD COLUMN survey_id TEXT;
