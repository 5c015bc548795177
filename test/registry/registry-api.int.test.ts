import { describe, expect, it, onTestFinished } from 'vitest';
import { openApiDocument } from '../../gateway/openapi/openapi-document.js';
import { registryPrefix } from '../../gateway/registry/registry-routes.js';
import { prepareIngestGateway, send, type HttpAnswer } from '../gateway/ingest-client.js';
import { startTestGateway, type TestGatewaySetup } from '../support/gateway-fixture.js';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { createOpenApiValidator, type OpenApiValidator } from '../support/openapi-validator.js';
import { sumSamples } from '../support/prometheus-text.js';
import { uniqueName } from '../support/stack-env.js';

// Confluent's Schema Registry API under /registry, over real sockets against a real gateway with a
// registry topic of its own (these tests change the registry). Every answer of a documented route
// is checked against the OpenAPI document as well.

const registryJson = 'application/vnd.schemaregistry.v1+json';
const subject = 'widget.made';

function widgetSchema(extraFields: unknown[] = [], name = 'WidgetMade'): string {
  return JSON.stringify({
    type: 'record',
    name,
    namespace: 'dev.sluice.test.widget',
    fields: [{ name: 'widgetId', type: 'string' }, { name: 'count', type: 'int' }, ...extraFields],
  });
}
const v1 = widgetSchema();
const v2 = widgetSchema([{ name: 'colour', type: ['null', 'string'], default: null }]);
const incompatible = widgetSchema([{ name: 'weight', type: 'double' }]);

interface Registry {
  url: string;
  adminUrl: string;
  setup: TestGatewaySetup;
  schemasTopic: string;
  validator: OpenApiValidator;
  /** A /registry request as Confluent's clients send it (Basic, the key as password), checked against the document. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH',
    path: string,
    options?: {
      key?: string;
      authorization?: string;
      body?: unknown;
      contentType?: string;
      documented?: boolean;
    },
  ): Promise<HttpAnswer>;
}

async function startRegistryGateway(): Promise<Registry> {
  const schemasTopic = uniqueName('schemas');
  const setup = await prepareIngestGateway(
    [
      { producerId: 'ops', role: 'admin' },
      { producerId: 'shop', allowedEventTypes: ['widget.*'] },
    ],
    { SLUICE_SCHEMAS_TOPIC: schemasTopic },
  );
  const admin = await connectedAdmin();
  onTestFinished(async () => {
    await admin.deleteTopics({ topics: [schemasTopic] }).catch(() => undefined);
  });
  const { url, adminUrl } = await startTestGateway(setup);
  const validator = createOpenApiValidator(openApiDocument);
  const ops = setup.keys.ops!;
  return {
    url,
    adminUrl,
    setup,
    schemasTopic,
    validator,
    async call(method, path, options = {}) {
      const key = options.key ?? ops;
      const answer = await send(url, {
        method,
        path: `${registryPrefix}${path}`,
        authorization: options.authorization ?? `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}`,
        contentType: options.body === undefined ? undefined : (options.contentType ?? registryJson),
        body: options.body,
      });
      if (options.documented !== false) {
        const errors = validator.check({
          method,
          path: `${registryPrefix}${path.split('?')[0]}`,
          status: answer.status,
          headers: answer.headers,
          body: answer.text,
        });
        expect(errors, `${method} ${path}: ${answer.text}`).toEqual([]);
      }
      expect(answer.headers['content-type'], `${method} ${path}`).toBe(registryJson);
      return answer;
    },
  };
}

/** Expects a Confluent error: status, error_code, and a message saying something. */
function expectRegistryError(answer: HttpAnswer, status: number, errorCode: number): string {
  expect(
    { status: answer.status, errorCode: (answer.json as { error_code?: number }).error_code },
    answer.text,
  ).toEqual({
    status,
    errorCode,
  });
  const { message } = answer.json as { message: string };
  expect(message.length).toBeGreaterThan(10);
  return message;
}

async function endOffset(topic: string): Promise<string> {
  const admin = await connectedAdmin();
  const [partition] = await admin.fetchTopicOffsets(topic);
  return partition!.high;
}

describe('Confluent Schema Registry API at /registry', () => {
  it('answers every route in the shapes Confluent clients read', async () => {
    const registry = await startRegistryGateway();
    const { call } = registry;
    const ok = async (method: Parameters<Registry['call']>[0], path: string, body?: unknown) => {
      const answer = await call(method, path, { body });
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(200);
      return answer.json;
    };

    expect(await ok('GET', '/schemas/types')).toEqual(['AVRO']);
    expect(await ok('GET', '/subjects')).toEqual([]);
    expect(await ok('GET', '/config')).toEqual({ compatibilityLevel: 'BACKWARD' });

    // Register, twice: the same id; clients add ?normalize= and schemaType.
    expect(
      await ok('POST', `/subjects/${subject}/versions?normalize=false`, {
        schema: v1,
        schemaType: 'AVRO',
        references: [],
      }),
    ).toEqual({ id: 1 });
    expect(await ok('POST', `/subjects/${subject}/versions`, { schema: v1 })).toEqual({ id: 1 });
    expect(await ok('GET', '/subjects')).toEqual([subject]);
    expect(await ok('GET', `/subjects/${subject}/versions`)).toEqual([1]);
    const version1 = (await ok('GET', `/subjects/${subject}/versions/1`)) as Record<string, unknown>;
    expect(version1).toMatchObject({ subject, version: 1, id: 1 });
    expect(JSON.parse(version1.schema as string)).toEqual(JSON.parse(v1));
    expect(await ok('GET', `/subjects/${subject}/versions/latest/schema`)).toEqual(JSON.parse(v1));
    expect(await ok('GET', `/subjects/${subject}/versions/-1`)).toEqual(version1);

    // By id, as deserializers ask (with the query parameters they add).
    expect(await ok('GET', '/schemas/ids/1?subject=sluice.events-value&format=serialized')).toEqual({
      schema: version1.schema,
    });
    expect(await ok('GET', '/schemas/ids/1/schema')).toEqual(JSON.parse(v1));
    expect(await ok('GET', '/schemas/ids/1/versions')).toEqual([{ subject, version: 1 }]);
    expect(await ok('GET', '/schemas/ids/1/subjects')).toEqual([subject]);

    // Look up: the same schema written otherwise (key order, spacing) finds its version.
    const reordered = JSON.stringify(JSON.parse(v1), Object.keys(JSON.parse(v1) as object).reverse(), 2);
    expect(
      await ok('POST', `/subjects/${subject}?normalize=False&deleted=False`, { schema: reordered }),
    ).toEqual(version1);

    // Compatibility tests write nothing; messages only with verbose=true.
    expect(
      await ok('POST', `/compatibility/subjects/${subject}/versions/latest?verbose=true`, { schema: v2 }),
    ).toEqual({
      is_compatible: true,
      messages: [],
    });
    const refused = (await ok('POST', `/compatibility/subjects/${subject}/versions?verbose=True`, {
      schema: incompatible,
    })) as {
      is_compatible: boolean;
      messages: string[];
    };
    expect(refused.is_compatible).toBe(false);
    expect(refused.messages.join(' ')).toContain('data.weight');
    expect(
      await ok('POST', `/compatibility/subjects/${subject}/versions/1`, { schema: incompatible }),
    ).toEqual({ is_compatible: false });
    expect(await ok('POST', '/compatibility/subjects/no.versions.yet/versions', { schema: v1 })).toEqual({
      is_compatible: true,
    });

    expect(await ok('POST', `/subjects/${subject}/versions`, { schema: v2 })).toEqual({ id: 2 });
    // The gateway encodes with the newest version at once.
    const event = await send(registry.url, {
      apiKey: registry.setup.keys.shop,
      contentType: 'application/json',
      body: { type: subject, data: { widgetId: 'w-1', count: 3, colour: 'red' } },
    });
    expect(event.status, event.text).toBe(202);

    // Compatibility levels: GET says compatibilityLevel, PUT takes and echoes compatibility.
    expect(await ok('PUT', `/config/${subject}`, { compatibility: 'FULL' })).toEqual({
      compatibility: 'FULL',
    });
    expect(await ok('GET', `/config/${subject}`)).toEqual({ compatibilityLevel: 'FULL' });
    expect(await ok('DELETE', `/config/${subject}`)).toEqual({ compatibilityLevel: 'FULL' });
    expect(await ok('GET', `/config/${subject}?defaultToGlobal=true`)).toEqual({
      compatibilityLevel: 'BACKWARD',
    });
    expect(await ok('PUT', '/config', { compatibility: 'backward_transitive' })).toEqual({
      compatibility: 'BACKWARD_TRANSITIVE',
    });
    expect(await ok('GET', '/config')).toEqual({ compatibilityLevel: 'BACKWARD_TRANSITIVE' });
    expect(await ok('PUT', '/config', { compatibility: 'BACKWARD' })).toEqual({ compatibility: 'BACKWARD' });

    // Every accepted body media type, and Bearer as well as Basic, a producer key reading.
    for (const contentType of ['application/vnd.schemaregistry+json', 'application/json; charset=utf-8']) {
      const answer = await call('POST', `/subjects/${subject}`, { body: { schema: v1 }, contentType });
      expect(answer.status, contentType).toBe(200);
    }
    const bearer = await call('GET', '/subjects', { authorization: `Bearer ${registry.setup.keys.shop}` });
    expect(bearer.json).toEqual([subject]);

    // Soft deletes: a version, then the subject (the type is deprecated); ids stay resolvable.
    expect(await ok('DELETE', `/subjects/${subject}/versions/2`)).toBe(2);
    expect(await ok('GET', `/subjects/${subject}/versions`)).toEqual([1]);
    expect(await ok('GET', `/subjects/${subject}/versions?deleted=true`)).toEqual([1, 2]);
    expect(await ok('GET', '/schemas/ids/2/versions')).toEqual([]);
    expect(await ok('GET', '/schemas/ids/2/versions?deleted=true')).toEqual([{ subject, version: 2 }]);
    expect(await ok('DELETE', `/subjects/${subject}`)).toEqual([1]);
    expect(await ok('GET', '/subjects')).toEqual([]);
    expect(await ok('GET', '/subjects?deleted=true')).toEqual([subject]);
    expect(await ok('GET', '/subjects?deletedOnly=true')).toEqual([subject]);
    expect(await ok('GET', '/schemas/ids/2')).toMatchObject({ schema: expect.stringContaining('colour') });
    expect(await ok('GET', `/subjects/${subject}/versions/2?deleted=true`)).toMatchObject({
      version: 2,
      id: 2,
    });
    const deprecated = await send(registry.url, {
      apiKey: registry.setup.keys.shop,
      contentType: 'application/json',
      body: { type: subject, data: { widgetId: 'w-2', count: 1 } },
    });
    expect((deprecated.json as { code: string }).code).toBe('SLUICE_EVENT_TYPE_DEPRECATED');
    // Registering again brings the type back, with its old id for the same schema.
    expect(await ok('POST', `/subjects/${subject}/versions`, { schema: v2 })).toEqual({ id: 2 });
    expect(await ok('GET', `/subjects/${subject}/versions`)).toEqual([3]);

    const registryOperations = registry.validator.operations.filter((op) =>
      op.includes(` ${registryPrefix}/`),
    );
    expect(registryOperations.length).toBeGreaterThanOrEqual(20);
    const withoutSuccess = registryOperations.filter(
      (operation) => ![...registry.validator.seen].some((seen) => seen.startsWith(`${operation} 2`)),
    );
    expect(withoutSuccess).toEqual([]);
  });

  it('refuses with Confluent error codes, stores nothing, and stays up', async () => {
    const registry = await startRegistryGateway();
    const { call } = registry;
    const shop = registry.setup.keys.shop!;
    expect((await call('POST', `/subjects/${subject}/versions`, { body: { schema: v1 } })).json).toEqual({
      id: 1,
    });
    const offsetBefore = await endOffset(registry.schemasTopic);
    const stateBefore = (await call('GET', `/subjects/${subject}/versions?deleted=true`)).json;

    // 40401, 40402, 40403: unknown subject, version, id.
    expectRegistryError(await call('GET', '/subjects/no.such/versions'), 404, 40401);
    expectRegistryError(await call('GET', '/subjects/no.such/versions/1'), 404, 40401);
    expectRegistryError(await call('POST', '/subjects/no.such', { body: { schema: v1 } }), 404, 40401);
    expectRegistryError(await call('DELETE', '/subjects/no.such'), 404, 40401);
    expectRegistryError(
      await call('POST', '/compatibility/subjects/no.such/versions/latest', { body: { schema: v1 } }),
      404,
      40401,
    );
    expectRegistryError(await call('GET', `/subjects/${subject}/versions/9`), 404, 40402);
    expectRegistryError(await call('DELETE', `/subjects/${subject}/versions/9`), 404, 40402);
    expectRegistryError(await call('GET', '/schemas/ids/999'), 404, 40403);
    expectRegistryError(await call('GET', '/schemas/ids/abc/versions'), 404, 40403);
    expectRegistryError(await call('POST', `/subjects/${subject}`, { body: { schema: v2 } }), 404, 40403);
    expectRegistryError(await call('GET', `/config/${subject}`), 404, 40408);
    expectRegistryError(await call('GET', `/subjects/${subject}/versions/0`), 422, 42202);

    // 42201: every way a schema can be unusable, each named.
    const register = (body: unknown, to = subject) => call('POST', `/subjects/${to}/versions`, { body });
    const invalid = async (body: unknown, says: string, to = subject) =>
      expect(expectRegistryError(await register(body, to), 422, 42201)).toContain(says);
    await invalid({ schema: '{"type": "record",' }, 'not JSON');
    await invalid(
      { schema: JSON.stringify({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] }) },
      'nope',
    );
    await invalid({ schema: '"string"' }, 'must be a record');
    await invalid(
      { schema: widgetSchema([], 'WidgetMade') },
      'belongs to event type widget.made',
      'widget.sold',
    );
    const huge = widgetSchema([{ name: 'big', type: 'string', doc: 'x'.repeat(300 * 1024) }]);
    await invalid({ schema: huge }, 'larger than');
    await invalid({ schema: v2, schemaType: 'PROTOBUF' }, 'Avro schemas only');
    await invalid({ schema: v2, references: [{ name: 'a', subject: 'b', version: 1 }] }, 'references');
    await invalid({ schemaType: 'AVRO' }, '"schema"');
    // 42208: a subject must be an event type; 409: incompatible at the subject's level.
    expectRegistryError(await register({ schema: v2 }, 'sluice.events-value'), 422, 42208);
    expect(expectRegistryError(await register({ schema: incompatible }), 409, 409)).toContain('data.weight');
    // 42203: compatibility levels.
    expectRegistryError(await call('PUT', '/config', { body: { compatibility: 'SOMETIMES' } }), 422, 42203);
    expectRegistryError(await call('PUT', `/config/${subject}`, { body: {} }), 422, 42203);
    // 42205: nothing is ever deleted for good.
    expect(
      expectRegistryError(await call('DELETE', `/subjects/${subject}?permanent=true`), 422, 42205),
    ).toContain('soft delete');
    expectRegistryError(await call('DELETE', `/subjects/${subject}/versions/1?permanent=true`), 422, 42205);

    // 401: no, wrong or malformed credentials; 403: a producer key writing.
    const basic = (userInfo: string) => `Basic ${Buffer.from(userInfo).toString('base64')}`;
    for (const authorization of [
      basic(`ops:${shop}x`),
      basic('ops:'),
      'Bearer sk_unknown',
      'Digest abc',
      ' ',
    ]) {
      const answer = await call('GET', '/subjects', { authorization });
      expectRegistryError(answer, 401, 401);
      expect(answer.headers['www-authenticate']).toContain('Basic');
      expect(answer.text).not.toContain(shop);
    }
    expectRegistryError(
      await call('POST', `/subjects/${subject}/versions`, { key: shop, body: { schema: v2 } }),
      403,
      403,
    );
    expectRegistryError(
      await call('PUT', '/config', { key: shop, body: { compatibility: 'NONE' } }),
      403,
      403,
    );
    expectRegistryError(await call('DELETE', `/subjects/${subject}`, { key: shop }), 403, 403);
    expectRegistryError(await call('DELETE', `/config/${subject}`, { key: shop }), 403, 403);

    // The HTTP layer, in Confluent's format too.
    const tooLarge = { schema: widgetSchema([{ name: 'big', type: 'string', doc: 'x'.repeat(600 * 1024) }]) };
    expectRegistryError(await register(tooLarge), 413, 413);
    expectRegistryError(
      await call('POST', `/subjects/${subject}/versions`, { body: 'schema=x', contentType: 'text/plain' }),
      415,
      415,
    );
    expectRegistryError(
      await call('POST', `/subjects/${subject}/versions`, {
        body: '{"schema":',
        contentType: 'application/json',
      }),
      400,
      400,
    );
    expectRegistryError(await call('GET', '/nothing/here', { documented: false }), 404, 404);
    const wrongMethod = await call('PATCH', '/config', { documented: false });
    expectRegistryError(wrongMethod, 405, 405);
    expect(wrongMethod.headers.allow).toBe('GET, PUT');

    // Nothing was written (a refused registration of v2 by the producer key included), the state
    // is what it was, and the gateway still answers.
    expect(await endOffset(registry.schemasTopic)).toBe(offsetBefore);
    expect((await call('GET', `/subjects/${subject}/versions?deleted=true`)).json).toEqual(stateBefore);
    expect((await call('GET', '/subjects')).json).toEqual([subject]);
    expect((await send(registry.adminUrl, { method: 'GET', path: '/healthz' })).status).toBe(200);

    // Counted by reason.
    const metrics = (await send(registry.adminUrl, { method: 'GET', path: '/metrics' })).text;
    for (const reason of [
      'incompatible',
      'invalid-schema',
      'invalid-subject',
      'not-found',
      'unauthorized',
      'forbidden',
      'other',
    ]) {
      expect(
        sumSamples(metrics, 'sluice_schema_registry_refusals_total', { reason }).sum,
        reason,
      ).toBeGreaterThan(0);
    }
    expect(sumSamples(metrics, 'sluice_schema_registrations_total', { outcome: 'refused' }).sum).toBe(10);
  });
});
