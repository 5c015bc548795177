/**
 * Imported first by the `sluice` CLI, before any module that loads kafkajs: the one change to
 * kafkajs that must be in place before kafkajs itself is loaded (see install-message-grouping.ts).
 * The others (record codec, produce request) are installed later, by createKafkaClient.
 * Must not import kafkajs.
 */
import { installMessageGrouping } from './install-message-grouping.js';

installMessageGrouping();
