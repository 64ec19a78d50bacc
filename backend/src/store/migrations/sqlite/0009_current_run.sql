-- Each resource's current run (its latest: the highest id) with the run's
-- operation and status, kept on the resource row by triggers in the same
-- transaction as every write to runs, so the resource list reads them with
-- the row instead of looking up the latest run of every row it shows.
ALTER TABLE resources ADD COLUMN current_run_id TEXT;
ALTER TABLE resources ADD COLUMN current_run_operation TEXT;
ALTER TABLE resources ADD COLUMN current_run_status TEXT;

UPDATE resources SET (current_run_id, current_run_operation, current_run_status) =
    (SELECT u.id, u.operation, u.status FROM runs u WHERE u.resource_id = resources.id ORDER BY u.id DESC LIMIT 1);

CREATE TRIGGER current_run_ins AFTER INSERT ON runs BEGIN
    UPDATE resources SET current_run_id = NEW.id, current_run_operation = NEW.operation,
        current_run_status = NEW.status
    WHERE id = NEW.resource_id AND (current_run_id IS NULL OR current_run_id < NEW.id);
END;
CREATE TRIGGER current_run_upd AFTER UPDATE OF status, operation ON runs
WHEN OLD.status IS NOT NEW.status OR OLD.operation IS NOT NEW.operation BEGIN
    UPDATE resources SET current_run_operation = NEW.operation, current_run_status = NEW.status
    WHERE id = NEW.resource_id AND current_run_id = NEW.id;
END;
-- Runs go with their resource; a run deleted alone hands over to the one before.
CREATE TRIGGER current_run_del AFTER DELETE ON runs BEGIN
    UPDATE resources SET (current_run_id, current_run_operation, current_run_status) =
        (SELECT u.id, u.operation, u.status FROM runs u WHERE u.resource_id = OLD.resource_id ORDER BY u.id DESC LIMIT 1)
    WHERE id = OLD.resource_id AND current_run_id = OLD.id;
END;
