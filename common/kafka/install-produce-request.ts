import { createRequire } from 'node:module';
import { createProduceRequestFactory } from './produce-request.js';

const require = createRequire(import.meta.url);

const v3RequestModule = 'kafkajs/src/protocol/requests/produce/v3/request.js';
/** Later versions build on v3's request (v4 and v5 on v3, v6 on v5, v7 on v6). */
const laterRequestModules = [4, 5, 6, 7].map(
  (version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`,
);
const installed = Symbol.for('sluice.produceRequest');

/**
 * Makes kafkajs (pinned at 2.2.4) build Produce requests v3–v7 with Sluice's single-buffer
 * encoder (produce-request.ts), keeping kafkajs's own for compressed batches.
 *
 * kafkajs loads a produce request module with `require` on every produce (produce/index.js), and
 * v4–v7 take v3's with `require` when first loaded. Putting ours in the require cache under v3's
 * name and evicting v4–v7 makes every later produce use it. Call after installRecordEncoder, so
 * kafkajs's request (kept for compressed batches) encodes records with Sluice's encoder. Idempotent.
 */
export function installProduceRequest(): void {
  const path = require.resolve(v3RequestModule);
  const cached = require.cache[path]?.exports as ({ [installed]?: true } & object) | undefined;
  if (cached?.[installed]) return;
  const kafkajsRequest = require(path) as unknown;
  if (typeof kafkajsRequest !== 'function') {
    throw new Error(`kafkajs changed: ${v3RequestModule} no longer exports the request factory`);
  }
  const factory = Object.assign(
    createProduceRequestFactory(kafkajsRequest as Parameters<typeof createProduceRequestFactory>[0]),
    { [installed]: true as const },
  );
  require.cache[path]!.exports = factory;
  for (const name of laterRequestModules) delete require.cache[require.resolve(name)];
}
