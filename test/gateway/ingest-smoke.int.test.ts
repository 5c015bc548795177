import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { readFileSync } from 'node:fs';
import { decodeEvent } from '../../schemas/event-codec.js';
import { loadSchemaCatalog } from '../../schemas/schema-catalog.js';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';

const fixture = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
);

// That a 202 waits for Kafka's acknowledgement is shown where Kafka cannot acknowledge:
// ingest-kafka-unavailable.int.test.ts (503, never 202); here only that an accepted event lands.
describe('gateway ingest (smoke)', () => {
  it('answers 202 and the event is in Kafka, Avro-encoded with its schema id', async () => {
    const setup = await prepareGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);
    const response = await request(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${setup.keys['shop-eu']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'order.created', key: 'order-1001', id: 'evt-1', data: fixture }),
    });
    expect(response.statusCode).toBe(202);
    expect(await response.body.json()).toEqual({ id: 'evt-1', status: 'accepted' });

    const records = await readTopic(setup.eventsTopic, 1);
    expect(records).toHaveLength(1);
    const decoded = decodeEvent(loadSchemaCatalog(), records[0]!.value!);
    if (!decoded.ok) throw new Error(decoded.message);
    expect(decoded.schema.type).toBe('order.created');
    expect(decoded.data).toMatchObject(fixture);
    expect(records[0]!.key).toBe('order-1001');
    expect(records[0]!.headers).toMatchObject({
      ce_id: 'evt-1',
      ce_type: 'order.created',
      sluice_producer: 'shop-eu',
    });
  });
});
