-- Drift detection: what each resource's last check found, when the
-- scheduler checks it next, and one report per check run.
ALTER TABLE resources ADD COLUMN drift_status TEXT NOT NULL DEFAULT 'never_checked';
ALTER TABLE resources ADD COLUMN drift_checked_at INTEGER;
-- NULL: due at the next sweep once the project has an interval.
ALTER TABLE resources ADD COLUMN drift_next_at INTEGER;
-- 0 = off.
ALTER TABLE projects ADD COLUMN drift_interval_minutes INTEGER NOT NULL DEFAULT 0;

-- status: in_sync | drifted | missing | check_failed; changes: the drifted
-- objects' redacted attribute diff (JSON array).
CREATE TABLE drift_reports (
    run_id      TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    changes     TEXT NOT NULL DEFAULT '[]',
    checked_at  INTEGER NOT NULL
);
CREATE INDEX drift_reports_resource ON drift_reports(resource_id, run_id);

-- The list filter on drift_status, newest first (as migration 0008's).
CREATE INDEX resources_drift_status ON resources(drift_status, id);
-- The fleet view's counts, read from the index alone, project by project.
CREATE INDEX resources_drift_counts ON resources(project_id, cloud, drift_status) WHERE status <> 'destroyed';
-- The scheduler's sweep: a project's resources by when they are due.
CREATE INDEX resources_drift_due ON resources(project_id, drift_next_at);
