import { createRequire } from 'node:module';
import { decodeRecord } from './record-decoder.js';

const require = createRequire(import.meta.url);

/** The kafkajs module whose default export decodes one record, and the modules that capture it. */
const recordModule = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const capturingModules = [
  'kafkajs/src/protocol/recordBatch/v0/decoder.js',
  'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js',
  ...[4, 5, 6, 7, 8, 9, 10, 11].map(
    (version) => `kafkajs/src/protocol/requests/fetch/v${version}/response.js`,
  ),
];

/**
 * Makes kafkajs (pinned at 2.2.4, see package.json) decode fetched records with `decodeRecord`.
 *
 * The record-batch decoder takes its record decoder with `require` when first loaded, and the
 * fetch responses (v4–v11) take the batch decoder the same way; the fetch request loads its
 * response module with `require` on every fetch. Putting our decoder in the require cache under
 * the record decoder's name and evicting the modules that captured the old one makes every later
 * fetch use it. Idempotent.
 */
export function installRecordDecoder(): void {
  const recordPath = require.resolve(recordModule);
  if (require.cache[recordPath]?.exports === decodeRecord) return;
  const loaded = require(recordPath) as unknown;
  if (typeof loaded !== 'function') {
    throw new Error(`kafkajs changed: ${recordModule} no longer exports the record decoder`);
  }
  require.cache[recordPath]!.exports = decodeRecord;
  for (const name of capturingModules) delete require.cache[require.resolve(name)];
}
