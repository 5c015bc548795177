-- The events-topic record each attempt's event was read from (topic, partition, offset), so that
-- one event can be read again from Kafka (resend). Null on rows written before the workers set it.
ALTER TABLE attempts
  ADD COLUMN source_topic text,
  ADD COLUMN source_partition integer,
  ADD COLUMN source_offset bigint;
