-- Sign-in sessions. A session is one sign-in (a refresh token "family"): its
-- id is the sid claim of every access token issued under it, so revoking the
-- row ends those tokens at once (each request checks it by primary key).
-- expires_at slides forward on each refresh. revoke_reason says why it ended
-- (logout, revoke_all, password_change, refresh_reuse).
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_agent    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    revoke_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id, created_at);

-- Refresh tokens, only as hashes (BLAKE2b-256, hex). A rotated token stays
-- with spent_at set: presenting it again is reuse, which revokes its session.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
