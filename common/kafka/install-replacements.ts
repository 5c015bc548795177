/**
 * Every kafkajs replacement, installed when this module is evaluated. The door (index.ts) imports
 * it first, before any module that loads kafkajs, because the message grouping only takes effect
 * if it is in place before kafkajs itself is loaded (install-message-grouping.ts); the others work
 * in any order. So no entry point has an order to get right: importing the door is enough, in the
 * CLI, a test process or a bench. Must not import kafkajs.
 */
import { installMessageGrouping, messageGroupingModule } from './install-message-grouping.js';
import { installPendingCheck, pendingCheckMethod, requestQueueModule } from './install-pending-check.js';
import { installProduceRequest, produceRequestModule } from './install-produce-request.js';
import { installRecordDecoder, recordDecoderModule } from './install-record-decoder.js';
import { installRecordEncoder, recordEncoderModule } from './install-record-encoder.js';
import { isKafkajsMethodSwapped, isKafkajsModuleSwapped, kafkajsModuleCalls } from './kafkajs-module.js';

// Loud rather than a silently different producer path: only a module that imports kafkajs itself,
// outside common/kafka/ (which lint forbids), can load it before this runs.
if (!installMessageGrouping()) {
  throw new Error(
    'kafkajs was loaded before common/kafka/index.ts: import kafkajs only through it, ' +
      'or kafkajs keeps its own message grouping',
  );
}
// The record encoder first: kafkajs's produce request, kept for compressed batches, then takes ours.
installRecordEncoder();
installProduceRequest();
installRecordDecoder();
installPendingCheck();

/** Whether each replacement is in place in this process (all are, once the door is imported). */
export function kafkajsReplacementsInstalled() {
  return {
    messageGrouping: isKafkajsModuleSwapped(messageGroupingModule),
    recordEncoder: isKafkajsModuleSwapped(recordEncoderModule),
    produceRequest: isKafkajsModuleSwapped(produceRequestModule),
    recordDecoder: isKafkajsModuleSwapped(recordDecoderModule),
    pendingCheck: isKafkajsMethodSwapped(requestQueueModule, pendingCheckMethod),
  };
}

/**
 * How many times kafkajs has called the producer-side replacements in this process: a produce
 * through Sluice's path raises both (one grouping per topic of a send, one request per broker).
 */
export function kafkajsReplacementCalls() {
  return {
    messageGrouping: kafkajsModuleCalls(messageGroupingModule),
    produceRequest: kafkajsModuleCalls(produceRequestModule),
  };
}
