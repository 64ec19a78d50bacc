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
    n                BIGINT NOT NULL,
    monthly_cost_usd DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (project_id, cloud, kind, region, status)
);

INSERT INTO resource_totals (project_id, cloud, kind, region, status, n, monthly_cost_usd)
SELECT project_id, cloud, kind, region, status, COUNT(*), SUM(monthly_cost_usd)
FROM resources GROUP BY project_id, cloud, kind, region, status;

CREATE FUNCTION cp_resource_totals_add(p TEXT, c TEXT, k TEXT, rg TEXT, st TEXT, dn BIGINT, dc DOUBLE PRECISION)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO resource_totals AS t (project_id, cloud, kind, region, status, n, monthly_cost_usd)
    VALUES (p, c, k, rg, st, dn, dc)
    ON CONFLICT (project_id, cloud, kind, region, status) DO UPDATE
    SET n = t.n + EXCLUDED.n,
        -- An emptied group reads exactly 0, not the rounding left by + x - x.
        monthly_cost_usd = CASE WHEN t.n + EXCLUDED.n = 0 THEN 0 ELSE t.monthly_cost_usd + EXCLUDED.monthly_cost_usd END
$$;

CREATE FUNCTION cp_resource_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.project_id = NEW.project_id AND OLD.cloud = NEW.cloud AND OLD.kind = NEW.kind
       AND OLD.region = NEW.region AND OLD.status = NEW.status THEN
        IF OLD.monthly_cost_usd IS DISTINCT FROM NEW.monthly_cost_usd THEN
            PERFORM cp_resource_totals_add(NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 0,
                                           NEW.monthly_cost_usd - OLD.monthly_cost_usd);
        END IF;
        RETURN NULL;
    END IF;
    -- Two rows move in one transaction: lock them in key order (status is the
    -- only part a status change moves), so two crossing moves cannot deadlock.
    IF TG_OP = 'INSERT' THEN
        PERFORM cp_resource_totals_add(NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 1, NEW.monthly_cost_usd);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cp_resource_totals_add(OLD.project_id, OLD.cloud, OLD.kind, OLD.region, OLD.status, -1, -OLD.monthly_cost_usd);
    ELSIF (OLD.project_id, OLD.cloud, OLD.kind, OLD.region, OLD.status)
          < (NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status) THEN
        PERFORM cp_resource_totals_add(OLD.project_id, OLD.cloud, OLD.kind, OLD.region, OLD.status, -1, -OLD.monthly_cost_usd);
        PERFORM cp_resource_totals_add(NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 1, NEW.monthly_cost_usd);
    ELSE
        PERFORM cp_resource_totals_add(NEW.project_id, NEW.cloud, NEW.kind, NEW.region, NEW.status, 1, NEW.monthly_cost_usd);
        PERFORM cp_resource_totals_add(OLD.project_id, OLD.cloud, OLD.kind, OLD.region, OLD.status, -1, -OLD.monthly_cost_usd);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER resource_totals_track AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION cp_resource_totals_track();

-- Every write to resources takes the data version's row lock before any
-- totals row (a BEFORE statement trigger fires first), so a transaction that
-- took the data version in an earlier statement (a run's status) and one that
-- holds a totals row cannot wait on each other.
DROP TRIGGER dv_resources ON resources;
CREATE TRIGGER dv_resources BEFORE INSERT OR UPDATE OR DELETE ON resources
    FOR EACH STATEMENT EXECUTE FUNCTION cp_bump_data_version();

-- A project's budget use adds failed resources that still hold an open cost
-- period: both looked up by index, not by reading the project's resources.
CREATE INDEX resources_failed ON resources(project_id) WHERE status = 'failed';
CREATE INDEX cost_periods_open ON cost_periods(resource_id) WHERE ended_at IS NULL;
