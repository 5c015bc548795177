-- Where each attempt's event sits in Kafka (the events-topic record, or the origin a retry record
-- carries), so a resend can read the event back. Nullable: rows stored before workers wrote these
-- fields, and records from such workers, have none.
ALTER TABLE attempts
  ADD COLUMN source_topic text,
  ADD COLUMN source_partition integer,
  ADD COLUMN source_offset bigint;
