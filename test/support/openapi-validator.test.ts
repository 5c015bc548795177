import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../gateway/openapi/openapi-document.js';
import { createOpenApiValidator, registerDocument, type ObservedAnswer } from './openapi-validator.js';

const json = { 'content-type': 'application/json' };
const problemHeaders = { 'content-type': 'application/problem+json' };
const rateHeaders = { ratelimit: '"default";r=9;t=1', 'ratelimit-policy': '"default";q=10;w=1' };

function problemBody(code: string, status: number, extra: Record<string, unknown> = {}): string {
  const slug = code
    .replace(/^SLUICE_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
  return JSON.stringify({
    type: `https://sluice.dev/problems/${slug}`,
    title: 'x',
    status,
    detail: 'x',
    code,
    ...extra,
  });
}

const accepted: ObservedAnswer = {
  method: 'POST',
  path: '/v1/events',
  status: 202,
  headers: { ...json, ...rateHeaders },
  body: JSON.stringify({ id: 'evt-1', status: 'accepted' }),
};

/** JSON pointers of every schema in the document: components and those inline in operations. */
function schemaPointers(node: unknown, pointer: string): string[] {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([name, value]) => {
    const child = `${pointer}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (name === 'schema' || pointer === '/components/schemas') return [child];
    return schemaPointers(value, child);
  });
}

describe('the OpenAPI answer validator', () => {
  const validator = createOpenApiValidator(openApiDocument);

  it('accepts a documented answer and records it', () => {
    expect(validator.check(accepted)).toEqual([]);
    expect(validator.seen.has('POST /v1/events 202')).toBe(true);
  });

  it('refuses a body its schema does not allow', () => {
    const errors = validator.check({ ...accepted, body: JSON.stringify({ id: 'evt-1', status: 'ok' }) });
    expect(errors.join('\n')).toMatch(/body: \/status must be equal to constant/);
    expect(
      validator.check({ ...accepted, body: JSON.stringify({ id: 1, status: 'accepted', x: 1 }) }),
    ).toHaveLength(2);
  });

  it('refuses an undocumented status, path, content type or a missing header', () => {
    expect(validator.check({ ...accepted, status: 418 })).toEqual([
      'POST /v1/events 418: POST /v1/events documents no 418 answer',
    ]);
    expect(validator.check({ ...accepted, path: '/v1/nothing' })[0]).toMatch(/no documented path/);
    expect(
      validator.check({ ...accepted, headers: { ...rateHeaders, 'content-type': 'text/plain' } })[0],
    ).toMatch(/content type text\/plain is not one of application\/json/);
    expect(validator.check({ ...accepted, headers: json })).toEqual([
      'POST /v1/events 202: required header RateLimit is missing',
      'POST /v1/events 202: required header RateLimit-Policy is missing',
    ]);
    expect(validator.check({ ...accepted, method: 'PUT' })[0]).toMatch(/documents no PUT/);
  });

  it('refuses a problem whose code belongs to another status, or a 429 without Retry-After', () => {
    const notFound = { method: 'GET', path: '/v1/subscriptions/sub_x', status: 404, headers: problemHeaders };
    expect(validator.check({ ...notFound, body: problemBody('SLUICE_NOT_FOUND', 404) })).toEqual([]);
    expect(validator.check({ ...notFound, body: problemBody('SLUICE_FORBIDDEN', 404) }).join('\n')).toMatch(
      /\/code must be equal to one of the allowed values/,
    );
    const limited = { ...notFound, method: 'POST', path: '/v1/events', status: 429 };
    const body = problemBody('SLUICE_RATE_LIMITED', 429);
    expect(validator.check({ ...limited, headers: { ...problemHeaders, ...rateHeaders }, body })).toEqual([
      'POST /v1/events 429: required header Retry-After is missing',
    ]);
  });

  it('checks router answers: 404 for unknown paths, 405 with the documented Allow', () => {
    const unknown = { method: 'GET', path: '/v2/nothing', status: 404, headers: problemHeaders };
    expect(validator.check({ ...unknown, body: problemBody('SLUICE_NOT_FOUND', 404) })).toEqual([]);
    const wrongMethod = { method: 'DELETE', path: '/v1/events', status: 405 };
    const body = problemBody('SLUICE_METHOD_NOT_ALLOWED', 405);
    expect(validator.check({ ...wrongMethod, headers: { ...problemHeaders, allow: 'POST' }, body })).toEqual(
      [],
    );
    expect(
      validator.check({ ...wrongMethod, headers: { ...problemHeaders, allow: 'GET, POST' }, body }),
    ).toEqual(['DELETE /v1/events 405: Allow is GET, POST, the document lists POST']);
  });

  it('finds every schema of the document valid JSON Schema 2020-12 in strict mode', () => {
    const ajv = new Ajv2020({ strict: true });
    addFormats.default(ajv);
    registerDocument(ajv, openApiDocument);
    const pointers = schemaPointers(openApiDocument, '');
    expect(pointers.length).toBeGreaterThan(100);
    for (const pointer of pointers) {
      expect(() => ajv.compile({ $ref: `openapi.json#${pointer}` }), pointer).not.toThrow();
    }
  });
});
