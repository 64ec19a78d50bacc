-- Working-hours schedules: a VM stops and starts on cron expressions in a
-- time zone. schedule is {"stop", "start", "timezone"} (JSON text) or NULL;
-- schedule_next_at (Unix ms) and schedule_next_action (stop | start) are the
-- next due change, NULL without a schedule; the scheduler claims rows whose
-- time has come. power_state is what the last successful run left the VM in
-- (running | stopped); NULL for storage.
ALTER TABLE resources ADD COLUMN schedule TEXT;
ALTER TABLE resources ADD COLUMN power_state TEXT CHECK (power_state IN ('running', 'stopped'));
ALTER TABLE resources ADD COLUMN schedule_next_at INTEGER;
ALTER TABLE resources ADD COLUMN schedule_next_action TEXT CHECK (schedule_next_action IN ('stop', 'start'));
UPDATE resources SET power_state = 'running' WHERE kind = 'vm';
CREATE INDEX resources_schedule_due ON resources(schedule_next_at) WHERE schedule_next_at IS NOT NULL;

-- The sandbox cloud's instances can be stopped and started.
ALTER TABLE sandbox_instances ADD COLUMN power_state TEXT NOT NULL DEFAULT 'running';
