import { swapKafkajsModule } from './kafkajs-module.js';
import { createProduceRequestFactory } from './produce-request.js';

export const produceRequestModule = 'kafkajs/src/protocol/requests/produce/v3/request.js';

/**
 * Makes kafkajs build Produce requests v3–v7 with Sluice's single-buffer encoder
 * (produce-request.ts), keeping kafkajs's own for compressed batches. kafkajs loads a produce
 * request module with `require` on every produce (produce/index.js), and v4–v7 take v3's when
 * first loaded (v4 and v5 on v3, v6 on v5, v7 on v6), so they are evicted. Call after
 * installRecordEncoder: kafkajs's request, kept for compressed batches, then encodes records
 * with Sluice's encoder.
 */
export function installProduceRequest(): void {
  swapKafkajsModule({
    module: produceRequestModule,
    replace: (kafkajsRequest) =>
      createProduceRequestFactory(kafkajsRequest as Parameters<typeof createProduceRequestFactory>[0]),
    evict: [4, 5, 6, 7].map((version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`),
    countCalls: true,
  });
}
