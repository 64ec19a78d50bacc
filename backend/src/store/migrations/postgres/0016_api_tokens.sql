-- API tokens: cpt_<id>_<secret>. Only a BLAKE2b-256 hash of the secret is
-- kept. A personal token acts as user_id; a project service token acts as
-- its own service user (service_user_id), a member of project_id with role,
-- so the existing membership checks confine it to that project. user_id is
-- then the creator. scopes: a JSON array of read, order, approve, admin.
CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('personal', 'project')),
    user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,
    project_id      TEXT REFERENCES projects(id) ON DELETE CASCADE,
    service_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT CHECK (role IS NULL OR role IN ('admin', 'member', 'viewer')),
    scopes          TEXT NOT NULL,
    name            TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT,
    CHECK ((kind = 'personal' AND project_id IS NULL AND service_user_id IS NULL AND role IS NULL)
        OR (kind = 'project' AND project_id IS NOT NULL AND service_user_id IS NOT NULL AND role IS NOT NULL))
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, id);
CREATE INDEX api_tokens_project ON api_tokens(project_id, id);
CREATE INDEX api_tokens_service_user ON api_tokens(service_user_id);
