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
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
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
    next_attempt_at  BIGINT,
    give_up_at       BIGINT NOT NULL,
    response_code    INTEGER,
    error            TEXT,
    duration_ms      BIGINT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    redelivery_of    TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);

-- Notifications of every webhook event, for people: resource and expiry
-- become optional, runs and a one-line message come in, and each row may be
-- mailed once (mailed_at; the lease keeps two loops from mailing it twice).
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('expiring_24h', 'expiring_1h',
    'expired', 'run_needs_approval', 'run_succeeded', 'run_failed', 'resource_drifted', 'guardrail_blocked'));
ALTER TABLE notifications ALTER COLUMN resource_id DROP NOT NULL;
ALTER TABLE notifications ALTER COLUMN expires_at DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN run_id TEXT;
ALTER TABLE notifications ADD COLUMN message TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN resource_name TEXT;
-- Rows from before are never mailed now.
ALTER TABLE notifications ADD COLUMN mailed_at BIGINT;
UPDATE notifications SET mailed_at = created_at;
ALTER TABLE notifications ADD COLUMN mail_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN mail_lease_owner TEXT;
ALTER TABLE notifications ADD COLUMN mail_lease_expires_at BIGINT;
CREATE INDEX notifications_unmailed ON notifications(created_at) WHERE mailed_at IS NULL;
