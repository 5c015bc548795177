import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkManifest,
  expectedRecordName,
  findSchemasDir,
  readManifest,
  type ManifestEntry,
} from './manifest.js';

const schemasDir = dirname(fileURLToPath(import.meta.url));
const tempDirs: string[] = [];

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-schemas-'));
  tempDirs.push(dir);
  return dir;
}

/** A copy of the committed schemas directory whose manifest the test may rewrite. */
function copyOfSchemas(editEntries?: (entries: ManifestEntry[]) => unknown[]): string {
  const dir = tempDir();
  cpSync(join(schemasDir, 'avro'), join(dir, 'avro'), { recursive: true });
  const { entries } = readManifest(schemasDir);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ schemas: editEntries ? editEntries(entries) : entries }),
  );
  return dir;
}

describe('the committed manifest', () => {
  it('is consistent: unique ids, one per version, consecutive versions, files listed and present', () => {
    expect(checkManifest(schemasDir)).toEqual([]);
  });

  it('has ids that grow down the file and never repeat', () => {
    const ids = readManifest(schemasDir).entries.map((entry) => entry.id);
    expect(ids.length).toBeGreaterThanOrEqual(10);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });
});

describe('checkManifest', () => {
  it('reports a reused id', () => {
    const dir = copyOfSchemas((entries) =>
      entries.map((entry) => (entry.id === 2 ? { ...entry, id: 1 } : entry)),
    );
    expect(checkManifest(dir)).toContainEqual(
      expect.stringMatching(/order.cancelled v1 \(id 1\): id 1 is used twice/),
    );
  });

  it('reports ids that do not grow down the file', () => {
    const dir = copyOfSchemas((entries) => [...entries].reverse());
    expect(checkManifest(dir)).toContainEqual(expect.stringContaining('ids are append-only'));
  });

  it('reports a version listed twice and a gap in versions', () => {
    const duplicated = copyOfSchemas((entries) => [...entries, { ...entries[0], id: 500 }]);
    expect(checkManifest(duplicated)).toContainEqual(
      expect.stringContaining('order.created v1 is listed twice'),
    );
    const gap = copyOfSchemas((entries) =>
      entries.map((entry) =>
        entry.type === 'order.created' && entry.version === 2 ? { ...entry, version: 3 } : entry,
      ),
    );
    expect(checkManifest(gap)).toContainEqual(
      'order.created: versions must run 1, 2, 3… without gaps, got 1, 3',
    );
  });

  it('reports a listed file that does not exist and an .avsc file nobody listed', () => {
    const dir = copyOfSchemas();
    rmSync(join(dir, 'avro', 'refund.created', 'v1.avsc'));
    mkdirSync(join(dir, 'avro', 'refund.created', 'drafts'));
    writeFileSync(join(dir, 'avro', 'refund.created', 'drafts', 'v2.avsc'), '{}');
    const problems = checkManifest(dir);
    expect(problems).toContainEqual('refund.created v1 (id 7): avro/refund.created/v1.avsc does not exist');
    expect(problems).toContainEqual('avro/refund.created/drafts/v2.avsc is not listed in manifest.json');
  });

  it('reports a file outside the naming convention and a record named after another type', () => {
    const dir = copyOfSchemas((entries) =>
      entries.map((entry) =>
        entry.id === 7 ? { ...entry, file: 'avro/refund.created/v1.avsc', type: 'refund.issued' } : entry,
      ),
    );
    const problems = checkManifest(dir);
    expect(problems).toContainEqual(
      'refund.issued v1 (id 7): file should be avro/refund.issued/v1.avsc, got avro/refund.created/v1.avsc',
    );
    expect(problems).toContainEqual(
      'refund.issued v1 (id 7): record should be named RefundIssued in namespace dev.sluice.events.refund, got RefundCreated in dev.sluice.events.refund',
    );
  });

  it('reports malformed rows with their index', () => {
    const dir = copyOfSchemas((entries) => [
      ...entries,
      { id: 0, type: 'Order Created', version: 1.5, file: '../secrets.avsc' },
    ]);
    const problems = checkManifest(dir).filter((problem) => problem.startsWith('manifest.json schemas[11]'));
    expect(problems).toHaveLength(4);
    expect(problems[0]).toContain('id must be an integer from 1 to');
  });

  it('reports a manifest that is not JSON', () => {
    const dir = copyOfSchemas();
    writeFileSync(join(dir, 'manifest.json'), '{"schemas": [');
    expect(checkManifest(dir)[0]).toMatch(/^manifest\.json: /);
  });
});

describe('expectedRecordName', () => {
  it('derives namespace and PascalCase name from the event type', () => {
    expect(expectedRecordName('account.plan_changed')).toEqual({
      namespace: 'dev.sluice.events.account',
      name: 'AccountPlanChanged',
    });
  });
});

describe('findSchemasDir', () => {
  it('finds this directory from itself', () => {
    expect(findSchemasDir()).toBe(schemasDir);
  });

  it('finds the repository schemas from the compiled dist/schemas directory', () => {
    expect(findSchemasDir(join(dirname(schemasDir), 'dist', 'schemas'))).toBe(schemasDir);
  });

  it('walks up to a schemas folder beside an ancestor', () => {
    const root = tempDir();
    mkdirSync(join(root, 'schemas', 'avro'), { recursive: true });
    writeFileSync(join(root, 'schemas', 'manifest.json'), readFileSync(join(schemasDir, 'manifest.json')));
    mkdirSync(join(root, 'app', 'dist', 'schemas'), { recursive: true });
    expect(findSchemasDir(join(root, 'app', 'dist', 'schemas'))).toBe(join(root, 'schemas'));
  });

  it('says where it looked when there is none', () => {
    const root = tempDir();
    expect(() => findSchemasDir(root)).toThrow(`no schemas directory with manifest.json found above ${root}`);
  });
});
