-- A counter that moves whenever data a resource list shows changes, so
-- rendered pages can be cached until it does. Heartbeats and event counts
-- do not move it.
CREATE TABLE data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO data_version (id, n) VALUES (1, 0);

CREATE FUNCTION cp_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER dv_resources AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH STATEMENT EXECUTE FUNCTION cp_bump_data_version();
CREATE TRIGGER dv_runs AFTER INSERT OR DELETE OR UPDATE OF status, operation ON runs
    FOR EACH STATEMENT EXECUTE FUNCTION cp_bump_data_version();
CREATE TRIGGER dv_members AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION cp_bump_data_version();
CREATE TRIGGER dv_accounts AFTER UPDATE OR DELETE ON cloud_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION cp_bump_data_version();
