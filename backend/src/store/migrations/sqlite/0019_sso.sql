-- Single sign-on. user_identities: who an OIDC provider says signed in
-- (issuer, subject), and the user that is. oidc_logins: sign-ins on their
-- way through a provider, keyed by a hash of their state; each is used once
-- (deleted when its callback comes) and lives minutes. The PKCE verifier and
-- nonce are kept here, not in the browser.
CREATE TABLE user_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider_id   TEXT NOT NULL,
    email         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

CREATE TABLE oidc_logins (
    state_hash  TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    return_to   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins(expires_at);
