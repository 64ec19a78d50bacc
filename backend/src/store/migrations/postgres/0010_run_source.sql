-- Runs that no person asked for (drift checks, expiry destroys, working-hours
-- stops and starts) say where they came from, and drift checks are a run
-- operation of their own.
ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_operation_check;
ALTER TABLE runs ADD CONSTRAINT runs_operation_check
    CHECK (operation IN ('create', 'update', 'destroy', 'drift_check'));

-- user | drift_schedule | drift_reconcile | drift_accept | expiry | schedule
ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT 'user';
