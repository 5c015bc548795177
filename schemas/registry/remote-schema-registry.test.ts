import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createRegistryMetrics } from './registry-metrics.js';
import { RemoteSchemaRegistry } from './remote-schema-registry.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Confluent-compatible registry with no subjects, on a real socket. */
async function emptyRegistry(): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    if (req.method === 'GET' && req.url === '/subjects') res.end('[]');
    else res.writeHead(404).end('{"error_code":40401,"message":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('RemoteSchemaRegistry', () => {
  it('reports caught up once it has read the other registry, as the Kafka one does', async () => {
    const prometheus = new Registry();
    const registry = new RemoteSchemaRegistry({
      settings: {
        url: await emptyRegistry(),
        basicAuthUserInfo: undefined,
        bearerToken: undefined,
        pollIntervalMs: 60_000,
        requestTimeoutMs: 5_000,
      },
      logger: createLogger('test-remote-registry', 'silent'),
      metrics: createRegistryMetrics(prometheus),
    });
    expect(await prometheus.metrics()).toContain('sluice_schema_registry_caught_up 0');
    await registry.start();
    cleanups.push(() => registry.stop());
    expect(registry.isCaughtUp()).toBe(true);
    expect(await prometheus.metrics()).toContain('sluice_schema_registry_caught_up 1');
  });
});
