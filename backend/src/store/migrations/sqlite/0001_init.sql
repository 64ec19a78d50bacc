-- Initial schema (SQLite). Timestamps are Unix epoch milliseconds; JSON is TEXT.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE projects (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    require_approval   INTEGER NOT NULL DEFAULT 0,
    monthly_budget_usd REAL,
    created_at         INTEGER NOT NULL,
    deleted_at         INTEGER
);

CREATE TABLE memberships (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id, project_id);

CREATE TABLE cloud_accounts (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cloud      TEXT NOT NULL CHECK (cloud IN ('aws', 'azure', 'gcp', 'sandbox')),
    name       TEXT NOT NULL,
    hint       TEXT,
    key_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX cloud_accounts_project ON cloud_accounts(project_id, id);

CREATE TABLE resources (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    account_id       TEXT NOT NULL REFERENCES cloud_accounts(id),
    cloud            TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('vm', 'storage')),
    name             TEXT NOT NULL,
    region           TEXT NOT NULL,
    size             TEXT,
    config           TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL,
    outputs          TEXT NOT NULL DEFAULT '{}',
    monthly_cost_usd REAL NOT NULL DEFAULT 0,
    created_by       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX resources_project ON resources(project_id, id);
CREATE INDEX resources_account ON resources(account_id);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    resource_id      TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL,
    operation        TEXT NOT NULL CHECK (operation IN ('create', 'update', 'destroy')),
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    params           TEXT NOT NULL DEFAULT '{}',
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    lock_id          TEXT,
    tofu_started     INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    plan_summary     TEXT,
    plan_blob        TEXT,
    approved_by      TEXT,
    error            TEXT,
    event_count      INTEGER NOT NULL DEFAULT 0,
    events_dropped   INTEGER NOT NULL DEFAULT 0,
    created_by       TEXT,
    queued_at        INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);
CREATE INDEX runs_resource ON runs(resource_id, id);
CREATE INDEX runs_status ON runs(status, id);

CREATE TABLE run_events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    ts     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- One row per span during which a resource accrued cost at one rate.
CREATE TABLE cost_periods (
    resource_id      TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL,
    cloud            TEXT NOT NULL,
    monthly_cost_usd REAL NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE INDEX cost_periods_span ON cost_periods(started_at, ended_at);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    ts          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_email TEXT,
    project_id  TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_project ON audit_events(project_id, id);
