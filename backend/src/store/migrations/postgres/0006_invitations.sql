-- Sign-up by emailed link and project invitations. Tokens are never stored:
-- token_hash is the hex SHA-256 of the random token that was mailed, so a
-- copy of the database cannot be used to sign up or to join a project.

-- One row per sign-up request. The email is lower-cased; used_at is set when
-- the account is created, so a token works once.
CREATE TABLE signup_tokens (
    token_hash TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX signup_tokens_expiry ON signup_tokens(expires_at);

-- An invitation to join a project with a role. It ends once: accepted,
-- declined or revoked (status); a pending one past expires_at is dead too.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT REFERENCES users(id),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX invitations_project ON invitations(project_id, status);
CREATE INDEX invitations_email ON invitations(email, status);
