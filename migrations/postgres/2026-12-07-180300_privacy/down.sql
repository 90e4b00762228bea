-- Keyed rows cannot be turned back into plain hashes: going down forgets them (their addresses
-- become mailable again); down migrations are for development only.
DELETE FROM suppressions WHERE hash_kind <> 'sha256';
ALTER TABLE suppressions DROP COLUMN hash_kind;
DELETE FROM app_secrets WHERE name = 'suppression_key';
