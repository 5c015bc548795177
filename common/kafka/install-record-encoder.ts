import { swapKafkajsModule } from './kafkajs-module.js';
import { encodeRecord } from './record-encoder.js';

export const recordEncoderModule = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';

/**
 * Makes kafkajs encode produce records with `encodeRecord`. kafkajs's produce request (v3, which
 * v4–v7 reuse) takes its record encoder with `require` when first loaded, lazily on the first
 * produce; the produce requests already loaded are evicted. Consumers are unaffected: decoding
 * has its own module (install-record-decoder.ts).
 */
export function installRecordEncoder(): void {
  swapKafkajsModule({
    module: recordEncoderModule,
    replace: () => encodeRecord,
    evict: [3, 4, 5, 6, 7].map((version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`),
  });
}
