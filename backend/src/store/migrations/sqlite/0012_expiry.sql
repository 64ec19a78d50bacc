-- Expiry: a resource may have an end (expires_at, ms), after which the
-- scheduler queues its destroy (source 'expiry') once. The *_for columns
-- hold the expires_at each step was done for, so moving expires_at (extend)
-- makes the reminders and the destroy due again for the new time, and never
-- twice for the same one.
ALTER TABLE resources ADD COLUMN expires_at INTEGER;
ALTER TABLE resources ADD COLUMN expiry_queued_for INTEGER;
ALTER TABLE resources ADD COLUMN reminded_24h_for INTEGER;
ALTER TABLE resources ADD COLUMN reminded_1h_for INTEGER;
-- The sweep and the list's expires_before filter: only what can still expire.
CREATE INDEX resources_expiry ON resources(expires_at, id)
    WHERE expires_at IS NOT NULL AND status <> 'destroyed';

-- Per project: the TTL an order gets when it names none, the longest one a
-- member may choose (owners and admins may exceed it), and whether an
-- expiry destroy applies without a person approving it.
ALTER TABLE projects ADD COLUMN default_ttl_seconds INTEGER;
ALTER TABLE projects ADD COLUMN max_ttl_seconds INTEGER;
ALTER TABLE projects ADD COLUMN expiry_auto_approve INTEGER NOT NULL DEFAULT 0;

-- One row per user and reminder: the unique key makes each kind be sent
-- once per (resource, expires_at) per user, whoever sweeps.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('expiring_24h', 'expiring_1h', 'expired')),
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER,
    UNIQUE (user_id, resource_id, kind, expires_at)
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_resource ON notifications(resource_id);
