import { isKafkajsModuleLoaded, isKafkajsModuleSwapped, swapKafkajsModule } from './kafkajs-module.js';
import { groupMessagesPerPartition } from './message-grouping.js';

export const messageGroupingModule = 'kafkajs/src/producer/groupMessagesPerPartition.js';

/**
 * Makes kafkajs group produced messages with Sluice's linear `groupMessagesPerPartition`. kafkajs
 * takes its own with `require` when the package itself is first loaded (kafkajs → producer →
 * messageProducer → sendMessages), so this only takes effect before that: install-replacements.ts,
 * the first import of the door (index.ts), calls it. Returns whether it did (false once kafkajs is
 * loaded: it then keeps its own, equally correct but quadratic).
 */
export function installMessageGrouping(): boolean {
  if (isKafkajsModuleLoaded('kafkajs/src/producer/sendMessages.js')) {
    return isKafkajsModuleSwapped(messageGroupingModule);
  }
  swapKafkajsModule({
    module: messageGroupingModule,
    replace: () => groupMessagesPerPartition,
    countCalls: true,
  });
  return true;
}
