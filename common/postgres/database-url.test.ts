import { describe, expect, it } from 'vitest';
import { databaseNameOf, databaseUrlFor, quoteIdentifier, redactDatabaseUrl } from './database-url.js';

describe('database URLs', () => {
  it('hides the password and nothing else', () => {
    expect(redactDatabaseUrl('postgres://sluice:s3cret@db:5432/log?sslmode=require')).toBe(
      'postgres://sluice:***@db:5432/log?sslmode=require',
    );
    expect(redactDatabaseUrl('postgres://sluice@127.0.0.1:5433/sluice')).toBe(
      'postgres://sluice@127.0.0.1:5433/sluice',
    );
  });

  it('names another database on the same server', () => {
    const url = databaseUrlFor('postgres://sluice:pw@db:5432/sluice?sslmode=require', 'sluice_test_1');
    expect(url).toBe('postgres://sluice:pw@db:5432/sluice_test_1?sslmode=require');
    expect(databaseNameOf(url)).toBe('sluice_test_1');
    expect(databaseNameOf('postgres://someone@db')).toBe('someone');
  });

  it('quotes identifiers', () => {
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});
