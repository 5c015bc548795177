/**
 * The one door to Kafka: every module outside common/kafka/ imports its Kafka client, types and
 * helpers from here, never kafkajs (lint enforces it). Importing it installs Sluice's replacements
 * of kafkajs modules, so the gateway, the workers, the CLI, the benches and the tests all run the
 * same, shipped client path.
 */
// First: it installs the one replacement that must precede kafkajs, before the modules below load it.
import './install-replacements.js';

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  Message,
  Producer,
  TopicMessages,
} from 'kafkajs';
export { createKafkaClient, Kafka, logLevel, Partitioners, type KafkaClient } from './kafka-client.js';
export { kafkajsReplacementCalls, kafkajsReplacementsInstalled } from './install-replacements.js';
export {
  readKafkaSettings,
  readTopicSettings,
  type KafkaSettings,
  type TopicSettings,
} from './kafka-settings.js';
export { KeyPartitioner } from './key-partitioner.js';
export { StickyPartitioner } from './sticky-partitioner.js';
export { eventsTopicMaxMessageBytes, planTopics, type TopicSpec } from './topic-plan.js';
export { createTopicsWithLeaders } from './create-topics.js';
export { ensureTopics, type EnsureTopicsReport } from './ensure-topics.js';
export { retryRetriable } from './retry-retriable.js';
export {
  fromKafkaMessage,
  headersToStrings,
  recordPosition,
  type ConsumedRecord,
} from './consumed-record.js';
export {
  CompactedTopicView,
  type CompactedTopicViewOptions,
  type DecodedTopicRecord,
  type TopicChange,
  type TopicChangeListener,
  type TopicRecordToWrite,
} from './compacted-topic-view.js';
export {
  createRecordWriter,
  outgoingRecordBytes,
  type OutgoingRecord,
  type RecordWriter,
  type RecordWriterHooks,
  type RecordWriterOptions,
  type WriteFailureReason,
  type WriteListener,
  type WriteOutcome,
} from './record-writer.js';
