-- Dead letters: one row per record of the dead-letter topic, read by `sluice log` beside the
-- attempts. A plain table, not partitioned: a dead letter is one delivery that failed for a whole
-- retry schedule (about a day), so rows number a small fraction of attempts; the id alone must be
-- unique (a partitioned table's key would have to include the time); and retention deletes by the
-- indexed time in small batches, which at this volume leaves little for vacuum.
CREATE TABLE dead_letters (
  -- `<topic>-<partition>-<offset>` of the dead letter: read twice, it conflicts and is skipped.
  id text PRIMARY KEY,
  dead_lettered_at timestamptz NOT NULL,
  -- Poison records (undecodable events) may lack any of these.
  event_id text,
  event_type text,
  producer_id text,
  subscription_id text,
  reason text NOT NULL,
  attempts integer NOT NULL,
  last_status smallint,
  last_error text,
  -- The events-topic record the delivery started from (`sluice_origin`), when it is one.
  source_topic text,
  source_partition integer,
  source_offset bigint,
  -- The record as it is in the dead-letter topic: enough to replay it without reading Kafka.
  record_key bytea,
  record_value bytea,
  record_headers jsonb NOT NULL
);

-- GET /v1/dead-letters: newest first, cursor = (dead_lettered_at, id); retention by time.
CREATE INDEX dead_letters_time ON dead_letters (dead_lettered_at DESC, id);
CREATE INDEX dead_letters_subscription ON dead_letters (subscription_id, dead_lettered_at DESC, id);
CREATE INDEX dead_letters_event ON dead_letters (event_id);
