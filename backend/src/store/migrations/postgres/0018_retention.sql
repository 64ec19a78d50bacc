-- Retention (worker/retention.c): a finished run whose event log was pruned
-- says when (events_pruned_at), so its log reads as pruned, not as empty.
-- The indexes let each sweep find what is old without reading whole tables:
-- finished runs still holding events by finish time (runs leave the index
-- once pruned), audit rows, notifications and drift reports by age.
ALTER TABLE runs ADD COLUMN events_pruned_at BIGINT;
CREATE INDEX runs_events_prunable ON runs(finished_at)
    WHERE events_pruned_at IS NULL AND status IN ('succeeded', 'failed', 'canceled');
CREATE INDEX audit_events_ts ON audit_events(ts);
CREATE INDEX notifications_created ON notifications(created_at);
CREATE INDEX drift_reports_checked ON drift_reports(checked_at);
