import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCatalogCompatibility, fixturePath } from './compatibility.js';
import { createSchemaCatalog, loadSchemaCatalog } from './schema-catalog.js';

const tempDirs: string[] = [];

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const v1Fields = [
  { name: 'ticketId', type: 'string' },
  { name: 'priority', type: { type: 'enum', name: 'Priority', symbols: ['LOW', 'HIGH', 'URGENT'] } },
];
const v1Fixture = { ticketId: 't-1', priority: 'URGENT' };

/** A two-version in-memory catalog of `test.ticket` plus a fixtures directory for it. */
function ticketCatalog(v2Fields: unknown[], v2Fixture: unknown, fixtures = { v1: v1Fixture as unknown }) {
  const fixturesDir = mkdtempSync(join(tmpdir(), 'sluice-fixtures-'));
  tempDirs.push(fixturesDir);
  const schema = (fields: unknown[]) => ({
    type: 'record',
    name: 'Ticket',
    namespace: 'dev.sluice.test',
    fields,
  });
  const catalog = createSchemaCatalog([
    { id: 1, type: 'test.ticket', version: 1, avroSchema: schema(v1Fields) },
    { id: 2, type: 'test.ticket', version: 2, avroSchema: schema(v2Fields) },
  ]);
  mkdirSync(join(fixturesDir, 'test.ticket'));
  if (fixtures.v1 !== undefined)
    writeFileSync(fixturePath(fixturesDir, { type: 'test.ticket', version: 1 }), JSON.stringify(fixtures.v1));
  writeFileSync(fixturePath(fixturesDir, { type: 'test.ticket', version: 2 }), JSON.stringify(v2Fixture));
  return { catalog, fixturesDir };
}

describe('the committed catalog', () => {
  const catalog = loadSchemaCatalog();

  it('reads every previous version with the next one, fixtures included', () => {
    expect(checkCatalogCompatibility(catalog)).toEqual([]);
  });

  it('has at least two types that evolved to a second version', () => {
    const evolved = catalog.types().filter((type) => catalog.versions(type).length >= 2);
    expect(evolved.length).toBeGreaterThanOrEqual(2);
  });
});

describe('checkCatalogCompatibility', () => {
  it('accepts a v2 that adds a field with a default', () => {
    const { catalog, fixturesDir } = ticketCatalog(
      [...v1Fields, { name: 'assignee', type: ['null', 'string'], default: null }],
      { ...v1Fixture, assignee: 'usr_1' },
    );
    expect(checkCatalogCompatibility(catalog, { fixturesDir })).toEqual([]);
  });

  it('reports a v2 that adds a required field', () => {
    const { catalog, fixturesDir } = ticketCatalog([...v1Fields, { name: 'assignee', type: 'string' }], {
      ...v1Fixture,
      assignee: 'usr_1',
    });
    const problems = checkCatalogCompatibility(catalog, { fixturesDir });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^test\.ticket v2 cannot read v1 data: /);
  });

  it('reports a v2 that changes a field to an incompatible type', () => {
    const { catalog, fixturesDir } = ticketCatalog([{ name: 'ticketId', type: 'long' }, v1Fields[1]], {
      ticketId: 7,
      priority: 'LOW',
    });
    expect(checkCatalogCompatibility(catalog, { fixturesDir })).toEqual([
      expect.stringMatching(/^test\.ticket v2 cannot read v1 data: /),
    ]);
  });

  it('reports a v2 that drops an enum symbol the old data uses', () => {
    const { catalog, fixturesDir } = ticketCatalog(
      [v1Fields[0], { name: 'priority', type: { type: 'enum', name: 'Priority', symbols: ['LOW', 'HIGH'] } }],
      { ticketId: 't-2', priority: 'HIGH' },
    );
    expect(checkCatalogCompatibility(catalog, { fixturesDir })).toEqual([
      expect.stringMatching(/^test\.ticket v2 cannot read v1 data/),
    ]);
  });

  it('reports a missing fixture and a fixture that breaks its own schema', () => {
    const { catalog, fixturesDir } = ticketCatalog(
      v1Fields,
      { ticketId: 't-3', priority: 'SOMEDAY' },
      { v1: undefined },
    );
    const problems = checkCatalogCompatibility(catalog, { fixturesDir });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^test\.ticket v1: fixture .*v1\.json is missing$/);
    expect(problems[1]).toMatch(
      /^test\.ticket v2: fixture .*v2\.json is invalid: data\.priority must be one of LOW/,
    );
  });

  it('asks for a fixtures directory when the catalog was built in memory', () => {
    const { catalog } = ticketCatalog(v1Fields, v1Fixture);
    expect(checkCatalogCompatibility(catalog)).toEqual([
      'no fixtures directory: pass fixturesDir for a catalog built in memory',
    ]);
  });
});
