-- The embedded web form: per-survey embedding settings, and web responses beside email ones.
-- Keep in step across backends.
ALTER TABLE surveys ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';
ALTER TABLE surveys ADD COLUMN embed_enabled BOOLEAN NOT NULL DEFAULT 1;
-- Kept as is: checking a site's HMAC needs the secret itself. The API never shows it again.
ALTER TABLE surveys ADD COLUMN embed_secret TEXT;
-- An optional line under the greeting of the survey email, e.g. "Thanks for your order {order_id}."
ALTER TABLE surveys ADD COLUMN intro TEXT;

-- Who answered on the web (email responses find theirs through the invitation).
ALTER TABLE responses ADD COLUMN email TEXT;
ALTER TABLE responses ADD COLUMN email_key TEXT;
ALTER TABLE responses ADD COLUMN name TEXT;
ALTER TABLE responses ADD COLUMN customer_id TEXT;
ALTER TABLE responses ADD COLUMN page_url TEXT;
ALTER TABLE responses ADD COLUMN verified BOOLEAN NOT NULL DEFAULT 0;
-- The identity a repeat answer within the throttle days updates: customer id, email or visitor id.
ALTER TABLE responses ADD COLUMN respondent_key TEXT;
-- The SHA-256 of the random edit token; valid until edit_token_expires_at.
ALTER TABLE responses ADD COLUMN edit_token_hash TEXT;
ALTER TABLE responses ADD COLUMN edit_token_expires_at TIMESTAMP;
CREATE INDEX responses_by_respondent ON responses (survey_id, respondent_key, responded_at);
CREATE INDEX responses_by_email_key ON responses (email_key);

CREATE TABLE response_properties (
    response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (response_id, name)
);
