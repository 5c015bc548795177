import { createRequire } from 'node:module';
import { encodeRecord } from './record-encoder.js';

const require = createRequire(import.meta.url);

/** The kafkajs module whose default export encodes one record, and the modules that capture it. */
const recordModule = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const produceRequestModules = [3, 4, 5, 6, 7].map(
  (version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`,
);

/**
 * Makes kafkajs (pinned at 2.2.4, see package.json) encode produce records with `encodeRecord`.
 *
 * kafkajs's produce request (v3, which v4–v7 reuse) takes its record encoder with `require` when
 * first loaded, which happens lazily on the first produce. Putting our encoder in the require cache
 * under the record module's name, and evicting any produce request already loaded, makes every
 * later produce request use it. Idempotent. Consumers are unaffected: decoding has its own module.
 */
export function installRecordEncoder(): void {
  const recordPath = require.resolve(recordModule);
  if (require.cache[recordPath]?.exports === encodeRecord) return;
  const loaded = require(recordPath) as unknown;
  if (typeof loaded !== 'function') {
    throw new Error(`kafkajs changed: ${recordModule} no longer exports the record encoder`);
  }
  require.cache[recordPath]!.exports = encodeRecord;
  for (const name of produceRequestModules) delete require.cache[require.resolve(name)];
}
