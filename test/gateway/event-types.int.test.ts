import { isReservedSubject } from '../../schemas/avro-policy.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-fixture.js';
import { catalog, expectProblem, fixtureData, prepareIngestGateway, send } from './ingest-client.js';

// README.md#ingest-api: GET /v1/event-types lists the registered types with their schemas, Avro and the
// equivalent JSON Schema. Compared with the committed files, not with the catalog code's output.

interface EventTypeEntry {
  type: string;
  version: number;
  schemaId: number;
  versions: Array<{ version: number; schemaId: number }>;
  avroSchema: Record<string, unknown>;
  jsonSchema: {
    $schema: string;
    type: string;
    properties: Record<string, unknown>;
    required: string[];
    additionalProperties: boolean;
  };
}

describe('gateway: GET /v1/event-types', () => {
  it('lists every catalog type with its newest Avro schema, schema ids and JSON Schema', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'orders-only', allowedEventTypes: ['order.*'] }]);
    const { url } = await startTestGateway(setup);

    const answer = await send(url, {
      method: 'GET',
      path: '/v1/event-types',
      apiKey: setup.keys['orders-only'],
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    const { eventTypes } = answer.json as { eventTypes: EventTypeEntry[] };

    // Straight from manifest.json and the .avsc files.
    const dir = catalog.dir ?? '';
    const { schemas: entries } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      schemas: Array<{ id: number; type: string; version: number; file: string }>;
    };
    const types = [...new Set(entries.map((entry) => entry.type))].sort();
    expect(types.length).toBeGreaterThanOrEqual(9);
    // Every registered type, even those this key may not send; Sluice's own reserved types
    // (sluice.inbound_webhook, registered once a gateway has an inbound source) come beside them.
    const listed = eventTypes.map((entry) => entry.type);
    expect(listed.filter((type) => !isReservedSubject(type))).toEqual(types);

    for (const entry of eventTypes.filter(({ type }) => !isReservedSubject(type))) {
      const rows = entries.filter((row) => row.type === entry.type).sort((a, b) => a.version - b.version);
      const newest = rows[rows.length - 1]!;
      expect(entry.version, entry.type).toBe(newest.version);
      expect(entry.schemaId, entry.type).toBe(newest.id);
      expect(entry.versions).toEqual(rows.map((row) => ({ version: row.version, schemaId: row.id })));
      expect(entry.avroSchema).toEqual(JSON.parse(readFileSync(join(dir, newest.file), 'utf8')));

      const { jsonSchema } = entry;
      expect(jsonSchema).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        additionalProperties: false,
      });
      const avroFields = (entry.avroSchema.fields as Array<{ name: string; default?: unknown }>).map(
        (field) => field.name,
      );
      expect(Object.keys(jsonSchema.properties).sort()).toEqual([...avroFields].sort());
      const withoutDefault = (entry.avroSchema.fields as Array<{ name: string; default?: unknown }>)
        .filter((field) => !('default' in field))
        .map((field) => field.name);
      expect([...jsonSchema.required].sort()).toEqual(withoutDefault.sort());
      // The committed valid data for the type fits the JSON Schema's shape.
      const fixture = fixtureData(entry.type);
      for (const field of jsonSchema.required)
        expect(fixture, `${entry.type}.${field}`).toHaveProperty(field);
      for (const field of Object.keys(fixture)) expect(jsonSchema.properties).toHaveProperty(field);
    }
  });

  it('answers 401 without an API key or with an unknown one', async () => {
    const setup = await prepareIngestGateway([{ producerId: 'shop-eu' }]);
    const { url } = await startTestGateway(setup);

    const missing = await send(url, { method: 'GET', path: '/v1/event-types' });
    expectProblem(missing, 401, 'SLUICE_UNAUTHENTICATED');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="sluice"');
    expect(missing.text).not.toContain('avroSchema');
    const unknown = await send(url, {
      method: 'GET',
      path: '/v1/event-types',
      authorization: `Bearer sk_live_${'B'.repeat(43)}`,
    });
    expectProblem(unknown, 401, 'SLUICE_UNAUTHENTICATED');

    const ok = await send(url, { method: 'GET', path: '/v1/event-types', apiKey: setup.keys['shop-eu'] });
    expect(ok.status).toBe(200);
  });
});
