-- The trace id of whoever queued the run: the HTTP request's X-Request-Id,
-- or the scheduler sweep's (sched-<task>-<hex>). The worker logs the run
-- under it and hands it to tofu, so one id follows an order end to end.
-- NULL for runs queued before it was kept.
ALTER TABLE runs ADD COLUMN request_id TEXT;
