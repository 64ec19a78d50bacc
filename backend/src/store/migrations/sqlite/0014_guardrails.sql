-- Guardrails: a project's rules (the GuardrailRules document as JSON text,
-- who set it and when), the checks made on each run (its order's, stage
-- order, and its plan's, stage plan, numbered in the order they were made),
-- resources protected from destroy and replacement, and runs whose plan
-- broke a soft rule, so their approval needs a reason.
CREATE TABLE project_guardrails (
    project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    rules      TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

CREATE TABLE run_checks (
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    stage         TEXT NOT NULL CHECK (stage IN ('order', 'plan')),
    rule          TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('advisory', 'soft', 'hard')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('passed', 'warned', 'blocked', 'overridden')),
    message       TEXT NOT NULL,
    address       TEXT,
    reason        TEXT,
    overridden_by TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

ALTER TABLE resources ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN override_required INTEGER NOT NULL DEFAULT 0;
