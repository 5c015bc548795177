import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySchemaRegistry } from '../../test/support/memory-schema-registry.js';
import { findSchemasDir, readManifest } from '../manifest.js';
import { importSchemas, readSchemaFolder } from './import-schemas.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-import-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function shipmentDelayed(extraField?: { name: string; type: string; default?: string }): string {
  return JSON.stringify({
    type: 'record',
    name: 'ShipmentDelayed',
    namespace: 'com.example.shipment',
    doc: 'A shipment will arrive later than promised.',
    fields: [{ name: 'shipmentId', type: 'string' }, ...(extraField ? [extraField] : [])],
  });
}

const returnRequested = JSON.stringify({
  type: 'record',
  name: 'ReturnRequested',
  namespace: 'com.example.returns',
  fields: [{ name: 'orderId', type: 'string' }],
});

describe('readSchemaFolder', () => {
  it('reads the flat layout a ConfigMap can hold, by type then version, ignoring other files', () => {
    const dir = folder({
      'shipment.delayed__v2.avsc': shipmentDelayed({ name: 'reason', type: 'string', default: '' }),
      'shipment.delayed__v1.avsc': shipmentDelayed(),
      'return.requested.avsc': returnRequested,
      'README.txt': 'not a schema',
    });
    expect(readSchemaFolder(dir).map(({ subject, file }) => [subject, file])).toEqual([
      ['return.requested', 'return.requested.avsc'],
      ['shipment.delayed', 'shipment.delayed__v1.avsc'],
      ['shipment.delayed', 'shipment.delayed__v2.avsc'],
    ]);
  });

  it('reads a mounted ConfigMap once, skipping the hidden folder that holds a second copy', () => {
    // What the kubelet writes: the keys in a timestamped folder, `..data` linking to it, and one
    // link per key at the top.
    const dir = folder({
      '..2026_12_06_08_48_12.123456789/shipment.delayed.avsc': shipmentDelayed(),
      '..2026_12_06_08_48_12.123456789/return.requested.avsc': returnRequested,
    });
    symlinkSync('..2026_12_06_08_48_12.123456789', join(dir, '..data'));
    symlinkSync('..data/shipment.delayed.avsc', join(dir, 'shipment.delayed.avsc'));
    symlinkSync('..data/return.requested.avsc', join(dir, 'return.requested.avsc'));
    const files = readSchemaFolder(dir);
    expect(files.map((f) => f.file)).toEqual(['return.requested.avsc', 'shipment.delayed.avsc']);
    expect(files[1]!.schema).toBe(shipmentDelayed());
  });

  it('orders the nested and the flat layouts of one type together', () => {
    const dir = folder({
      'more/shipment.delayed/v3.avsc': shipmentDelayed(),
      'shipment.delayed__v2.avsc': shipmentDelayed(),
      'shipment.delayed.avsc': shipmentDelayed(),
    });
    expect(readSchemaFolder(dir).map((f) => f.file)).toEqual([
      'shipment.delayed.avsc',
      'shipment.delayed__v2.avsc',
      'more/shipment.delayed/v3.avsc',
    ]);
  });

  it('refuses two files that name the same version of a type', () => {
    const dir = folder({
      'shipment.delayed.avsc': shipmentDelayed(),
      'shipment.delayed__v1.avsc': shipmentDelayed(),
    });
    expect(() => readSchemaFolder(dir)).toThrow(
      'shipment.delayed.avsc and shipment.delayed__v1.avsc both name version 1 of shipment.delayed',
    );
  });

  it.each(['Shipment.Delayed.avsc', 'shipment-delayed.avsc', 'shipment.delayed__v0.avsc', 'delayed.avsc'])(
    'refuses %s: the name does not give an event type and version',
    (name) => {
      const dir = folder({ [name]: shipmentDelayed() });
      expect(() => readSchemaFolder(dir)).toThrow(`${name}: the name must give an event type`);
    },
  );

  it('refuses a folder without any .avsc file, naming the layouts', () => {
    const dir = folder({ 'shipment.delayed.json': shipmentDelayed() });
    expect(() => readSchemaFolder(dir)).toThrow(/holds no \.avsc file \(<type>\.avsc, <type>__v<N>\.avsc/);
  });

  it('reads the example catalog in manifest order, with each version’s example', () => {
    const dir = findSchemasDir();
    const files = readSchemaFolder(dir);
    const { entries } = readManifest(dir);
    expect(files.map((f) => f.file)).toEqual(entries.map((e) => e.file));
    expect(files.every((f) => f.example !== undefined)).toBe(true);
  });
});

describe('importSchemas', () => {
  it('registers a flat folder in order and, imported again, changes nothing', async () => {
    const dir = folder({
      'shipment.delayed__v1.avsc': shipmentDelayed(),
      'shipment.delayed__v2.avsc': shipmentDelayed({ name: 'reason', type: 'string', default: '' }),
      'return.requested.avsc': returnRequested,
    });
    const registry = new MemorySchemaRegistry();
    const first = await importSchemas(registry, readSchemaFolder(dir));
    expect(first.created.map(({ subject, version, id }) => [subject, version, id])).toEqual([
      ['return.requested', 1, 1],
      ['shipment.delayed', 1, 2],
      ['shipment.delayed', 2, 3],
    ]);
    expect(registry.state.subjectVersions('shipment.delayed')?.[0]?.description).toBe(
      'A shipment will arrive later than promised.',
    );
    const again = await importSchemas(registry, readSchemaFolder(dir));
    expect(again.created).toEqual([]);
    expect(again.existing).toEqual(first.created);
  });

  it('stops at the first schema the registry refuses, naming its file', async () => {
    const dir = folder({
      'shipment.delayed__v1.avsc': shipmentDelayed(),
      // A new field without a default: v2 cannot read what v1 wrote (BACKWARD).
      'shipment.delayed__v2.avsc': shipmentDelayed({ name: 'reason', type: 'string' }),
    });
    await expect(importSchemas(new MemorySchemaRegistry(), readSchemaFolder(dir))).rejects.toThrow(
      /^shipment\.delayed__v2\.avsc: Schema being registered is incompatible .*data\.reason/,
    );
  });

  it('gives the example catalog the ids of its manifest on an empty registry', async () => {
    const dir = findSchemasDir();
    const report = await importSchemas(new MemorySchemaRegistry(), readSchemaFolder(dir));
    expect(report.created.map((r) => [r.subject, r.version, r.id])).toEqual(
      readManifest(dir)
        .entries.toSorted((a, b) => a.id - b.id)
        .map((e) => [e.type, e.version, e.id]),
    );
  });
});
