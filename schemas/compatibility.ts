import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisteredSchema, SchemaCatalog } from './schema-catalog.js';
import { findSchemaViolation } from './schema-violation.js';

/** Where the fixture for one schema version lives: `fixtures/<type>/v<version>.json`. */
export function fixturePath(fixturesDir: string, schema: Pick<RegisteredSchema, 'type' | 'version'>): string {
  return join(fixturesDir, schema.type, `v${schema.version}.json`);
}

/**
 * Checks that every version of every type reads data written with the previous version (Avro
 * schema resolution), by building the resolver and by actually writing the previous version's
 * fixture and reading it back with the new schema. Also checks that each fixture is valid for its
 * own version. Returns one message per problem; empty means the catalog is safe to deploy.
 */
export function checkCatalogCompatibility(
  catalog: SchemaCatalog,
  options: { fixturesDir?: string } = {},
): string[] {
  const fixturesDir =
    options.fixturesDir ?? (catalog.dir === undefined ? undefined : join(catalog.dir, 'fixtures'));
  if (fixturesDir === undefined)
    return ['no fixtures directory: pass fixturesDir for a catalog built in memory'];
  const problems: string[] = [];
  for (const type of catalog.types()) {
    let previous: { schema: RegisteredSchema; fixture: unknown } | undefined;
    for (const schema of catalog.versions(type)) {
      const fixture = readFixture(fixturesDir, schema, problems);
      if (previous !== undefined) problems.push(...readsPrevious(schema, previous.schema, previous.fixture));
      previous = { schema, fixture };
    }
  }
  return problems;
}

function readFixture(fixturesDir: string, schema: RegisteredSchema, problems: string[]): unknown {
  const path = fixturePath(fixturesDir, schema);
  const label = `${schema.type} v${schema.version}`;
  if (!existsSync(path)) {
    problems.push(`${label}: fixture ${path} is missing`);
    return undefined;
  }
  let fixture: unknown;
  try {
    fixture = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`${label}: fixture ${path} is not JSON: ${(error as Error).message}`);
    return undefined;
  }
  const violation = findSchemaViolation(schema.avroType, fixture);
  if (violation !== undefined) {
    problems.push(`${label}: fixture ${path} is invalid: ${violation.message}`);
    return undefined;
  }
  return fixture;
}

function readsPrevious(reader: RegisteredSchema, writer: RegisteredSchema, writerFixture: unknown): string[] {
  const label = `${reader.type} v${reader.version} cannot read v${writer.version} data`;
  let resolver;
  try {
    resolver = reader.avroType.createResolver(writer.avroType);
  } catch (error) {
    return [`${label}: ${(error as Error).message}`];
  }
  if (writerFixture === undefined) return []; // Its problem is already reported.
  try {
    const read: unknown = reader.avroType.fromBuffer(writer.avroType.toBuffer(writerFixture), resolver);
    const violation = findSchemaViolation(reader.avroType, read);
    return violation === undefined
      ? []
      : [`${label}: the v${writer.version} fixture reads as ${violation.message}`];
  } catch (error) {
    return [`${label}: the v${writer.version} fixture fails to read: ${(error as Error).message}`];
  }
}
