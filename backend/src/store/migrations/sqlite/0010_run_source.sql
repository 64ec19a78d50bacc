-- Runs that no person asked for (drift checks, expiry destroys, working-hours
-- stops and starts) say where they came from, and drift checks are a run
-- operation of their own. SQLite cannot alter a CHECK; widening one leaves
-- every stored row valid, which is the case its documentation allows the
-- schema text to be edited for (sqlite.org/lang_altertable.html, section 7).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'operation IN (''create'', ''update'', ''destroy'')',
                          'operation IN (''create'', ''update'', ''destroy'', ''drift_check'')')
 WHERE type = 'table' AND name = 'runs';
PRAGMA writable_schema = RESET;

-- user | drift_schedule | drift_reconcile | drift_accept | expiry | schedule
ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT 'user';
