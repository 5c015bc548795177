-- The delivery log: one row per attempt record read from the attempts topic.
-- Range-partitioned by day on attempted_at; retention drops whole partitions, never DELETE.
-- Partitions are created ahead and dropped by the partition maintenance of `sluice log`
-- (log/partitions.ts), not here: they are named attempts_pYYYYMMDD and cover one UTC day.
CREATE TABLE attempts (
  attempt_id uuid NOT NULL,
  attempted_at timestamptz NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  producer_id text NOT NULL,
  subscription_id text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 1),
  latency_ms double precision,
  status_code smallint,
  error_class text,
  response_headers jsonb NOT NULL,
  response_body text,
  response_body_truncated boolean NOT NULL,
  outcome text NOT NULL
    CHECK (outcome IN ('delivered', 'retry-scheduled', 'dead-lettered', 'filtered', 'disabled')),
  next_attempt_at timestamptz,
  replay_id text,
  -- A record read twice (the log commits offsets after the insert) conflicts here and is skipped.
  -- The partition key must be part of a partitioned table's primary key.
  PRIMARY KEY (attempt_id, attempted_at)
) PARTITION BY RANGE (attempted_at);

-- GET /v1/events/{id} and /v1/events/{id}/attempts.
CREATE INDEX attempts_event ON attempts (event_id, attempted_at);

-- GET /v1/subscriptions/{id}/attempts: newest first, cursor = (attempted_at, attempt_id).
CREATE INDEX attempts_subscription ON attempts (subscription_id, attempted_at DESC, attempt_id);
