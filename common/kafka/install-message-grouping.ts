import { createRequire } from 'node:module';
import { groupMessagesPerPartition } from './message-grouping.js';

const require = createRequire(import.meta.url);

const groupingModule = 'kafkajs/src/producer/groupMessagesPerPartition.js';
/** Takes the grouping with `require` when kafkajs itself is first loaded (kafkajs → producer → …). */
const capturingModule = 'kafkajs/src/producer/sendMessages.js';

/**
 * Makes kafkajs (pinned at 2.2.4) group produced messages with Sluice's linear
 * `groupMessagesPerPartition`. kafkajs captures its own when the package is first loaded, so this
 * only takes effect before that: `kafkajs-preload.ts`, imported first by the CLI, calls it.
 * Returns whether it did (false once kafkajs is loaded: it then keeps its own, equally correct).
 */
export function installMessageGrouping(): boolean {
  const path = require.resolve(groupingModule);
  if (require.cache[path]?.exports === groupMessagesPerPartition) return true;
  if (require.cache[require.resolve(capturingModule)] !== undefined) return false;
  const loaded = require(path) as unknown;
  if (typeof loaded !== 'function') {
    throw new Error(`kafkajs changed: ${groupingModule} no longer exports the message grouping`);
  }
  require.cache[path]!.exports = groupMessagesPerPartition;
  return true;
}
