-- Each resource's current run (its latest: the highest id) with the run's
-- operation and status, kept on the resource row by triggers in the same
-- transaction as every write to runs, so the resource list reads them with
-- the row instead of looking up the latest run of every row it shows.
ALTER TABLE resources ADD COLUMN current_run_id TEXT, ADD COLUMN current_run_operation TEXT,
    ADD COLUMN current_run_status TEXT;

UPDATE resources r SET current_run_id = u.id, current_run_operation = u.operation, current_run_status = u.status
FROM (SELECT DISTINCT ON (resource_id) resource_id, id, operation, status FROM runs
      ORDER BY resource_id, id DESC) u
WHERE u.resource_id = r.id;

-- Inserts per statement (a transition table), so a bulk COPY of runs costs
-- one join, not one update per row.
CREATE FUNCTION cp_current_run_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resources r SET current_run_id = n.id, current_run_operation = n.operation, current_run_status = n.status
    FROM (SELECT DISTINCT ON (resource_id) resource_id, id, operation, status FROM new_runs
          ORDER BY resource_id, id DESC) n
    WHERE r.id = n.resource_id AND (r.current_run_id IS NULL OR r.current_run_id < n.id);
    RETURN NULL;
END $$;
CREATE TRIGGER current_run_ins AFTER INSERT ON runs REFERENCING NEW TABLE AS new_runs
    FOR EACH STATEMENT EXECUTE FUNCTION cp_current_run_ins();

-- Status changes per row, and only those: lease renewals and event counts
-- (the frequent run writes) never reach the resource row.
CREATE FUNCTION cp_current_run_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resources SET current_run_operation = NEW.operation, current_run_status = NEW.status
    WHERE id = NEW.resource_id AND current_run_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER current_run_upd AFTER UPDATE OF status, operation ON runs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.operation IS DISTINCT FROM NEW.operation)
    EXECUTE FUNCTION cp_current_run_upd();

-- Runs go with their resource; a run deleted alone hands over to the one before.
CREATE FUNCTION cp_current_run_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resources r SET (current_run_id, current_run_operation, current_run_status) =
        (SELECT u.id, u.operation, u.status FROM runs u WHERE u.resource_id = r.id ORDER BY u.id DESC LIMIT 1)
    WHERE r.id IN (SELECT resource_id FROM old_runs) AND r.current_run_id IN (SELECT id FROM old_runs);
    RETURN NULL;
END $$;
CREATE TRIGGER current_run_del AFTER DELETE ON runs REFERENCING OLD TABLE AS old_runs
    FOR EACH STATEMENT EXECUTE FUNCTION cp_current_run_del();
