-- People: one row per address, with a stable id (Delighted's API names people by id), made when
-- a transaction, a signed web answer, an API answer or an import first names the address. Ids
-- are UUIDv7 text, so their order is the order people were made in: lists page by id, and the
-- table needs no index on created_at (each new person costs every ingest two index entries).
-- Keep in step across backends.
CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    -- The lower-cased address.
    email_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    name TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The people already known, from their invitations and the answers that gave an address, each
-- with a UUIDv7-shaped id made from their first appearance (so they sort before newer people).
INSERT INTO people (id, email_key, email, name, created_at, updated_at)
    SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' || substr(r, 7, 12),
           email_key, email, name, created_at, updated_at
    FROM (
        SELECT email_key, max(email) AS email, max(name) AS name, min(created_at) AS created_at,
               max(updated_at) AS updated_at,
               lpad(to_hex(floor(extract(epoch FROM min(created_at)) * 1000)::bigint), 12, '0') AS h,
               md5(random()::text || email_key) AS r
        FROM (
            SELECT email_key, email, name, created_at, updated_at FROM invitations
            UNION ALL
            SELECT email_key, email, name, created_at, updated_at FROM responses
            WHERE email_key IS NOT NULL AND email IS NOT NULL
        ) AS known
        GROUP BY email_key
    ) AS grouped;

-- The survey a key's Delighted-compatible requests use; NULL: the survey 'default'.
ALTER TABLE api_keys ADD COLUMN survey_id TEXT;
