import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../common/errors.js';
import { findSchemasDir } from '../schemas/manifest.js';
import { loadSchemasImportConfig, readSchemaFolders, schemasImportFolders } from './schemas-command.js';

describe('sluice schemas import', () => {
  it('imports the example catalog when no folder is named', () => {
    expect(schemasImportFolders([])).toEqual([findSchemasDir()]);
  });

  it('imports the folders named, after the example catalog with --examples', () => {
    expect(schemasImportFolders(['/etc/sluice/schemas'])).toEqual(['/etc/sluice/schemas']);
    expect(schemasImportFolders(['/etc/sluice/schemas', '--examples'])).toEqual([
      findSchemasDir(),
      '/etc/sluice/schemas',
    ]);
  });

  it('refuses an unknown option with the usage', () => {
    expect(() => schemasImportFolders(['--example'])).toThrow(
      /unknown option --example\nusage: sluice schemas import/,
    );
  });

  it('names each file with its folder, so a refusal says where the file is', () => {
    const files = readSchemaFolders([`${findSchemasDir()}/`]);
    expect(files[0]!.file).toBe(`${findSchemasDir()}/avro/order.created/v1.avsc`);
  });

  it('reads Kafka, the topics and the registry settings, reporting every problem at once', () => {
    expect(loadSchemasImportConfig({}).topics.schemasTopic).toBe('sluice.schemas');
    let problems: unknown;
    try {
      loadSchemasImportConfig({
        SLUICE_SCHEMA_REGISTRY_URL: 'registry.example.com',
        SLUICE_EVENTS_PARTITIONS: 'many',
      });
    } catch (error) {
      if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) problems = error.details.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/SLUICE_EVENTS_PARTITIONS/),
      expect.stringMatching(/SLUICE_SCHEMA_REGISTRY_URL must be an http\(s\) URL/),
    ]);
  });
});
