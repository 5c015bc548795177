import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSchemas } from './check-schemas.js';

const schemasDir = dirname(fileURLToPath(import.meta.url));
const tempDirs: string[] = [];

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyOfSchemas(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-check-'));
  tempDirs.push(dir);
  for (const part of ['avro', 'fixtures', 'manifest.json'])
    cpSync(join(schemasDir, part), join(dir, part), { recursive: true });
  return dir;
}

describe('checkSchemas', () => {
  it('finds nothing wrong with the committed schemas', () => {
    expect(checkSchemas()).toEqual([]);
  });

  it('reports a schema that no longer loads', () => {
    const dir = copyOfSchemas();
    writeFileSync(
      join(dir, 'avro', 'refund.created', 'v1.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'RefundCreated',
        namespace: 'dev.sluice.events.refund',
        fields: [{ name: 'blob', type: 'bytes' }],
      }),
    );
    expect(checkSchemas({ dir })).toEqual([
      'avro/refund.created/v1.avsc: data.blob: bytes has no JSON form; use a string (e.g. base64) instead',
    ]);
  });

  it('reports an incompatible new version together with layout problems', () => {
    const dir = copyOfSchemas();
    const v2Path = join(dir, 'avro', 'payment.succeeded', 'v2.avsc');
    const v2 = JSON.parse(readFileSync(v2Path, 'utf8')) as { fields: { name: string; default?: unknown }[] };
    for (const field of v2.fields) if (field.name === 'feeMinor') delete field.default;
    writeFileSync(v2Path, JSON.stringify(v2));
    writeFileSync(join(dir, 'avro', 'payment.succeeded', 'v3.avsc'), '{}');
    const problems = checkSchemas({ dir });
    expect(problems).toContainEqual('avro/payment.succeeded/v3.avsc is not listed in manifest.json');
    expect(problems).toContainEqual(expect.stringMatching(/^payment\.succeeded v2 cannot read v1 data: /));
  });
});
