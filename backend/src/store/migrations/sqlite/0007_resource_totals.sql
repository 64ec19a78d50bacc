-- Resource counts and monthly cost per project, cloud, kind, region and
-- status, kept by triggers in the same transaction as every write to
-- resources, so the cost summary and a project's budget use read a few rows
-- per project instead of every resource.
CREATE TABLE resource_totals (
    project_id       TEXT NOT NULL,
    cloud            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    region           TEXT NOT NULL,
    status           TEXT NOT NULL,
    n                INTEGER NOT NULL,
    monthly_cost_usd REAL NOT NULL,
    PRIMARY KEY (project_id, cloud, kind, region, status)
);

INSERT INTO resource_totals (project_id, cloud, kind, region, status, n, monthly_cost_usd)
SELECT project_id, cloud, kind, region, status, COUNT(*), SUM(monthly_cost_usd)
FROM resources GROUP BY project_id, cloud, kind, region, status;

-- An emptied group reads exactly 0, not the rounding left by + x - x.
CREATE TRIGGER resource_totals_ins AFTER INSERT ON resources BEGIN
    INSERT INTO resource_totals (project_id, cloud, kind, region, status, n, monthly_cost_usd)
    VALUES (NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 1, NEW.monthly_cost_usd)
    ON CONFLICT (project_id, cloud, kind, region, status) DO UPDATE
    SET n = n + 1, monthly_cost_usd = CASE WHEN n + 1 = 0 THEN 0 ELSE monthly_cost_usd + excluded.monthly_cost_usd END;
END;
CREATE TRIGGER resource_totals_del AFTER DELETE ON resources BEGIN
    UPDATE resource_totals SET n = n - 1,
        monthly_cost_usd = CASE WHEN n - 1 = 0 THEN 0 ELSE monthly_cost_usd - OLD.monthly_cost_usd END
    WHERE project_id = OLD.project_id AND cloud = OLD.cloud AND kind = OLD.kind AND region = OLD.region
      AND status = OLD.status;
END;
CREATE TRIGGER resource_totals_upd AFTER UPDATE OF project_id, cloud, kind, region, status, monthly_cost_usd
ON resources BEGIN
    UPDATE resource_totals SET n = n - 1,
        monthly_cost_usd = CASE WHEN n - 1 = 0 THEN 0 ELSE monthly_cost_usd - OLD.monthly_cost_usd END
    WHERE project_id = OLD.project_id AND cloud = OLD.cloud AND kind = OLD.kind AND region = OLD.region
      AND status = OLD.status;
    INSERT INTO resource_totals (project_id, cloud, kind, region, status, n, monthly_cost_usd)
    VALUES (NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 1, NEW.monthly_cost_usd)
    ON CONFLICT (project_id, cloud, kind, region, status) DO UPDATE
    SET n = n + 1, monthly_cost_usd = CASE WHEN n + 1 = 0 THEN 0 ELSE monthly_cost_usd + excluded.monthly_cost_usd END;
END;

-- A project's budget use adds failed resources that still hold an open cost
-- period: both looked up by index, not by reading the project's resources.
CREATE INDEX resources_failed ON resources(project_id) WHERE status = 'failed';
CREATE INDEX cost_periods_open ON cost_periods(resource_id) WHERE ended_at IS NULL;
