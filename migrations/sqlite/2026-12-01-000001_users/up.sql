-- Dashboard users, their sessions and one-time sign-in links. Keep in step across backends.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    -- The lower-cased address: one user per address.
    email_key TEXT NOT NULL UNIQUE,
    -- admin or viewer.
    role TEXT NOT NULL,
    -- Argon2id in PHC form; NULL until the user sets one through a sign-in link.
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A signed-in browser: the cookie carries the token (signed), the table its SHA-256.
CREATE TABLE user_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

CREATE TABLE sign_in_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Secrets every instance shares, made once (the cookie signing key).
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
