import { isKafkajsModuleLoaded, isKafkajsModuleSwapped, swapKafkajsModule } from './kafkajs-module.js';
import { groupMessagesPerPartition } from './message-grouping.js';

/**
 * Makes kafkajs group produced messages with Sluice's linear `groupMessagesPerPartition`. kafkajs
 * takes its own with `require` when the package itself is first loaded (kafkajs → producer →
 * messageProducer → sendMessages), so this only takes effect before that: `kafkajs-preload.ts`,
 * imported first by the CLI, calls it. Returns whether it did (false once kafkajs is loaded: it
 * then keeps its own, equally correct).
 */
export function installMessageGrouping(): boolean {
  const grouping = 'kafkajs/src/producer/groupMessagesPerPartition.js';
  if (isKafkajsModuleLoaded('kafkajs/src/producer/sendMessages.js')) {
    return isKafkajsModuleSwapped(grouping);
  }
  swapKafkajsModule({ module: grouping, replace: () => groupMessagesPerPartition });
  return true;
}
