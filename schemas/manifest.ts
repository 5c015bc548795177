import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_WIRE_SCHEMA_ID } from './wire-format.js';

/** One row of `manifest.json`: the stable id of one version of one event type. */
export interface ManifestEntry {
  id: number;
  type: string;
  version: number;
  /** Path of the `.avsc` file relative to the schemas directory, with `/` separators. */
  file: string;
}

export const MANIFEST_FILE = 'manifest.json';
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * The schemas directory holding `manifest.json`, found by walking up from `startDir`. Walking up
 * lets the same code run from `schemas/` (tsx, vitest) and from `dist/schemas/` after `tsc`,
 * which does not copy `.avsc` or `.json` files: there the repository's `schemas/` is found instead.
 */
export function findSchemasDir(startDir = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    for (const candidate of [dir, join(dir, 'schemas')]) {
      if (existsSync(join(candidate, MANIFEST_FILE)) && existsSync(join(candidate, 'avro'))) return candidate;
    }
    if (dirname(dir) === dir) {
      throw new Error(`no schemas directory with ${MANIFEST_FILE} found above ${startDir}`);
    }
  }
}

/** Parses `manifest.json`, collecting every malformed entry instead of stopping at the first. */
export function readManifest(dir: string): { entries: ManifestEntry[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    return { entries: [], problems: [`${MANIFEST_FILE}: ${(error as Error).message}`] };
  }
  const rows = (parsed as { schemas?: unknown } | null)?.schemas;
  if (!Array.isArray(rows))
    return { entries: [], problems: [`${MANIFEST_FILE}: expected {"schemas": [...]}`] };

  const entries: ManifestEntry[] = [];
  const problems: string[] = [];
  rows.forEach((row: unknown, index) => {
    const rowProblems = entryProblems(row);
    if (rowProblems.length === 0) entries.push(row as ManifestEntry);
    else problems.push(...rowProblems.map((problem) => `${MANIFEST_FILE} schemas[${index}]: ${problem}`));
  });
  return { entries, problems };
}

function entryProblems(row: unknown): string[] {
  if (typeof row !== 'object' || row === null) return ['must be an object'];
  const { id, type, version, file } = row as Record<string, unknown>;
  const problems: string[] = [];
  if (!Number.isInteger(id) || (id as number) < 1 || (id as number) > MAX_WIRE_SCHEMA_ID) {
    problems.push(`id must be an integer from 1 to ${MAX_WIRE_SCHEMA_ID}, got ${JSON.stringify(id)}`);
  }
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) {
    problems.push(`type must look like order.created, got ${JSON.stringify(type)}`);
  }
  if (!Number.isInteger(version) || (version as number) < 1) {
    problems.push(`version must be a positive integer, got ${JSON.stringify(version)}`);
  }
  if (typeof file !== 'string' || file.startsWith('/') || file.split('/').includes('..')) {
    problems.push(`file must be a path inside the schemas directory, got ${JSON.stringify(file)}`);
  }
  return problems;
}

/**
 * Checks the layout that keeps schema ids trustworthy: ids unique and appended in increasing
 * order, one id per (type, version), versions consecutive from 1, every listed file present, every
 * `.avsc` file listed, files at `avro/<type>/v<version>.avsc`, records named after their type.
 */
export function checkManifest(dir: string): string[] {
  const { entries, problems } = readManifest(dir);
  const ids = new Set<number>();
  const versionsByType = new Map<string, number[]>();
  let previousId = 0;
  for (const entry of entries) {
    const label = `${entry.type} v${entry.version} (id ${entry.id})`;
    if (ids.has(entry.id)) problems.push(`${label}: id ${entry.id} is used twice`);
    else if (entry.id < previousId)
      problems.push(`${label}: ids are append-only, so must increase down the file`);
    ids.add(entry.id);
    previousId = Math.max(previousId, entry.id);

    const versions = versionsByType.get(entry.type) ?? [];
    if (versions.includes(entry.version))
      problems.push(`${label}: ${entry.type} v${entry.version} is listed twice`);
    versionsByType.set(entry.type, [...versions, entry.version]);

    const expectedFile = `avro/${entry.type}/v${entry.version}.avsc`;
    if (entry.file !== expectedFile)
      problems.push(`${label}: file should be ${expectedFile}, got ${entry.file}`);
    if (!existsSync(join(dir, entry.file))) problems.push(`${label}: ${entry.file} does not exist`);
    else problems.push(...namingProblems(dir, entry, label));
  }

  for (const [type, versions] of versionsByType) {
    const sorted = [...versions].sort((a, b) => a - b);
    if (sorted.some((version, index) => version !== index + 1)) {
      problems.push(`${type}: versions must run 1, 2, 3… without gaps, got ${sorted.join(', ')}`);
    }
  }

  const listed = new Set(entries.map((entry) => entry.file));
  for (const file of listAvscFiles(dir)) {
    if (!listed.has(file)) problems.push(`${file} is not listed in ${MANIFEST_FILE}`);
  }
  return problems;
}

/** The record's full name follows the type: `account.plan_changed` → `dev.sluice.events.account.AccountPlanChanged`. */
export function expectedRecordName(type: string): { namespace: string; name: string } {
  const words = type.split(/[._]/);
  return {
    namespace: `dev.sluice.events.${type.split('.')[0] ?? ''}`,
    name: words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(''),
  };
}

function namingProblems(dir: string, entry: ManifestEntry, label: string): string[] {
  let schema: { namespace?: unknown; name?: unknown };
  try {
    schema = JSON.parse(readFileSync(join(dir, entry.file), 'utf8')) as typeof schema;
  } catch (error) {
    return [`${label}: ${entry.file} is not JSON: ${(error as Error).message}`];
  }
  const expected = expectedRecordName(entry.type);
  if (schema.namespace === expected.namespace && schema.name === expected.name) return [];
  return [
    `${label}: record should be named ${expected.name} in namespace ${expected.namespace}, got ${String(schema.name)} in ${String(schema.namespace)}`,
  ];
}

function listAvscFiles(dir: string): string[] {
  const avroDir = join(dir, 'avro');
  if (!existsSync(avroDir)) return [];
  return readdirSync(avroDir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.avsc'))
    .map((file) => `avro/${file.split(sep).join('/')}`)
    .sort();
}
