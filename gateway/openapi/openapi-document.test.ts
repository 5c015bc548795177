import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { adminPaths } from '../../common/admin-server.js';
import { errorCatalog, SluiceError, type ErrorCode } from '../../common/errors.js';
import { RegistryState } from '../../schemas/registry/registry-state.js';
import { createGatewayRouter, type GatewayRouteDeps } from '../gateway-routes.js';
import { toClientError } from '../http/problem.js';
import { adminPathItems, openApiDocument } from './openapi-document.js';

/** `METHOD /path/{param}` of every route the gateway registers, read from its real route table. */
function registeredRoutes(): string[] {
  // Registering a route calls none of its dependencies, so the services can be absent.
  const absent = {} as never;
  const deps: GatewayRouteDeps = {
    ingest: { maxRequestBytes: 1024, maxBatchBytes: 1024 } as never,
    schemaRegistry: { state: new RegistryState() } as never,
    apiKeys: absent,
    eventTypes: absent,
    subscriptions: absent,
    replay: absent,
    enable: absent,
    log: absent,
    sources: absent,
    inbound: absent,
    registryApi: absent,
    onUnexpectedError: undefined,
  };
  return createGatewayRouter(deps)
    .registeredRoutes()
    .map(({ method, pattern }) => `${method} ${pattern.replace(/:([^/]+)/g, '{$1}')}`);
}

function documentedOperations(options: { admin: boolean }): string[] {
  return Object.entries(openApiDocument.paths ?? {}).flatMap(([path, item]) =>
    path in adminPathItems !== options.admin
      ? []
      : (['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const)
          .filter((method) => item[method] !== undefined)
          .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

function errorCodeEnum(): unknown[] | undefined {
  const schema = openApiDocument.components?.schemas?.ErrorCode;
  return schema !== undefined && 'enum' in schema ? schema.enum : undefined;
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    // A deep copy: the validator may annotate what it is given.
    const result = await validator.validate(
      JSON.parse(JSON.stringify(openApiDocument)) as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every route the gateway registers, and no other on the public port', () => {
    expect(documentedOperations({ admin: false }).sort()).toEqual(registeredRoutes().sort());
  });

  it("documents the admin port's probes", () => {
    expect(documentedOperations({ admin: true }).sort()).toEqual(
      adminPaths.map((path) => `GET ${path}`).sort(),
    );
  });

  it('lists exactly the error codes a client can receive from the catalog', () => {
    const reachable = (Object.keys(errorCatalog) as ErrorCode[]).filter(
      (code) => toClientError(new SluiceError(code, 'probe')).code === code,
    );
    expect(errorCodeEnum()).toEqual(reachable);
  });

  it('documents every client-visible code under its status on some operation', () => {
    const text = JSON.stringify(openApiDocument);
    const documented = new Set<string>();
    for (const match of text.matchAll(/"status":\{"const":(\d+)\},"code":\{"enum":\[([^\]]*)\]/g)) {
      for (const code of JSON.parse(`[${match[2]}]`) as ErrorCode[]) {
        expect(errorCatalog[code].status, code).toBe(Number(match[1]));
        documented.add(code);
      }
    }
    expect([...documented].sort()).toEqual([...(errorCodeEnum() ?? [])].sort());
  });
});
