-- No planner statistics for outbox.payload: no query filters or sorts on it, and sampling and
-- sorting jsonb values was most of every automatic ANALYZE of a growing outbox (each 10% of
-- growth triggers one).
ALTER TABLE outbox ALTER COLUMN payload SET STATISTICS 0;
