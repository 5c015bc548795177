import { swapKafkajsModule } from './kafkajs-module.js';
import { decodeRecord } from './record-decoder.js';

export const recordDecoderModule = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';

/**
 * Makes kafkajs decode fetched records with `decodeRecord`. The record-batch decoder takes its
 * record decoder with `require` when first loaded, and the fetch responses (v4–v11) take the batch
 * decoder the same way; the fetch request loads its response module with `require` on every
 * fetch, so evicting them is enough for every later fetch to use ours.
 */
export function installRecordDecoder(): void {
  swapKafkajsModule({
    module: recordDecoderModule,
    replace: () => decodeRecord,
    evict: [
      'kafkajs/src/protocol/recordBatch/v0/decoder.js',
      'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js',
      ...[4, 5, 6, 7, 8, 9, 10, 11].map(
        (version) => `kafkajs/src/protocol/requests/fetch/v${version}/response.js`,
      ),
    ],
  });
}
