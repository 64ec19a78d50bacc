-- Webhooks: a project's receivers, the events each wants, and a signing
-- secret sealed in the vault (AAD bound to the webhook and project ids).
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    events            TEXT NOT NULL,           -- JSON array of event names
    secret_key_id     TEXT NOT NULL,
    secret_nonce      TEXT NOT NULL,
    secret_ciphertext TEXT NOT NULL,
    secret_hint       TEXT NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1,
    created_by        TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX webhooks_project ON webhooks(project_id, id);

-- The outbox and delivery log in one: a row is written in the same
-- transaction as its event, then sent (and retried) by the delivery loop of
-- whichever worker process leases it first (lease_owner, lease_expires_at).
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    give_up_at       INTEGER NOT NULL,
    response_code    INTEGER,
    error            TEXT,
    duration_ms      INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    redelivery_of    TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);

-- Notifications of every webhook event, for people: resource and expiry
-- become optional, runs and a one-line message come in, and each row may be
-- mailed once (mailed_at; the lease keeps two loops from mailing it twice).
-- SQLite cannot change a CHECK or NOT NULL in place: the table is rebuilt.
CREATE TABLE notifications_new (
    id                    TEXT PRIMARY KEY,
    user_id               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id            TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource_id           TEXT REFERENCES resources(id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('expiring_24h', 'expiring_1h', 'expired', 'run_needs_approval',
                              'run_succeeded', 'run_failed', 'resource_drifted', 'guardrail_blocked')),
    expires_at            INTEGER,
    created_at            INTEGER NOT NULL,
    read_at               INTEGER,
    run_id                TEXT,
    message               TEXT NOT NULL DEFAULT '',
    resource_name         TEXT,
    mailed_at             INTEGER,
    mail_attempts         INTEGER NOT NULL DEFAULT 0,
    mail_lease_owner      TEXT,
    mail_lease_expires_at INTEGER,
    UNIQUE (user_id, resource_id, kind, expires_at)
);
-- Rows from before are never mailed now.
INSERT INTO notifications_new (id, user_id, project_id, resource_id, kind, expires_at, created_at, read_at, mailed_at)
    SELECT id, user_id, project_id, resource_id, kind, expires_at, created_at, read_at, created_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_resource ON notifications(resource_id);
CREATE INDEX notifications_unmailed ON notifications(created_at) WHERE mailed_at IS NULL;
