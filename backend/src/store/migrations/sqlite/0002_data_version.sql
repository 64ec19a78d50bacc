-- A counter that moves whenever data a resource list shows changes, so
-- rendered pages can be cached until it does. Heartbeats and event counts
-- do not move it.
CREATE TABLE data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO data_version (id, n) VALUES (1, 0);

CREATE TRIGGER dv_resources_ins AFTER INSERT ON resources BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_resources_upd AFTER UPDATE ON resources BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_resources_del AFTER DELETE ON resources BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_runs_ins AFTER INSERT ON runs BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_runs_upd AFTER UPDATE OF status, operation ON runs BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_runs_del AFTER DELETE ON runs BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_members_ins AFTER INSERT ON memberships BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_members_upd AFTER UPDATE ON memberships BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_members_del AFTER DELETE ON memberships BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_accounts_upd AFTER UPDATE ON cloud_accounts BEGIN UPDATE data_version SET n = n + 1; END;
CREATE TRIGGER dv_accounts_del AFTER DELETE ON cloud_accounts BEGIN UPDATE data_version SET n = n + 1; END;
