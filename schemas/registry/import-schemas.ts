import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { EVENT_TYPE_PATTERN, MANIFEST_FILE, readManifest } from '../manifest.js';
import type { SchemaRegistry } from './schema-registry.js';

/** One schema file to register, with what the folder says about it. */
export interface SchemaFile {
  subject: string;
  /** Path relative to the imported folder, for messages. */
  file: string;
  schema: string;
  /** `fixtures/<type>/v<N>.json` beside `avro/`, when present: the type's example. */
  example: unknown;
}

export interface ImportReport {
  created: Array<{ subject: string; version: number; id: number; file: string }>;
  existing: Array<{ subject: string; version: number; id: number; file: string }>;
}

/**
 * The `.avsc` files of a folder, in registration order. Layouts: Sluice's `schemas/` (with
 * `manifest.json`, whose ids give the order, and `fixtures/` for examples), `<type>/v<N>.avsc`
 * and `<type>.avsc`. The subject is the event type the path names.
 */
export function readSchemaFolder(dir: string): SchemaFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
  const files = existsSync(join(dir, MANIFEST_FILE))
    ? manifestFiles(dir)
    : walk(dir).sort(byTypeAndVersion(dir));
  return files.map((path) => {
    const file = relative(dir, path).split(sep).join('/');
    const subject = subjectOf(file);
    return { subject, file, schema: readFileSync(path, 'utf8'), example: exampleFor(dir, file) };
  });
}

/**
 * Registers every schema of the folder, in order. Idempotent: a schema the subject already holds
 * answers its existing id and version. Stops at the first refusal (an incompatible or invalid
 * schema), naming the file.
 */
export async function importSchemas(
  registry: SchemaRegistry,
  files: readonly SchemaFile[],
): Promise<ImportReport> {
  const report: ImportReport = { created: [], existing: [] };
  for (const file of files) {
    let description: string | undefined;
    try {
      const doc = (JSON.parse(file.schema) as { doc?: unknown }).doc;
      description = typeof doc === 'string' ? doc : undefined;
    } catch {
      // The registry refuses it below, with the reason.
    }
    let registration;
    try {
      registration = await registry.register({
        subject: file.subject,
        schema: file.schema,
        description,
        example: file.example,
      });
    } catch (error) {
      throw new Error(`${file.file}: ${(error as Error).message}`, { cause: error });
    }
    const row = {
      subject: file.subject,
      version: registration.version,
      id: registration.id,
      file: file.file,
    };
    (registration.created ? report.created : report.existing).push(row);
  }
  return report;
}

function manifestFiles(dir: string): string[] {
  const { entries, problems } = readManifest(dir);
  if (problems.length > 0) throw new Error(`${join(dir, MANIFEST_FILE)}: ${problems.join('; ')}`);
  return [...entries].sort((a, b) => a.id - b.id).map((entry) => join(dir, entry.file));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.avsc') ? [path] : [];
  });
}

function subjectOf(file: string): string {
  const parts = file.replace(/\.avsc$/, '').split('/');
  // `<type>/v<N>.avsc` (possibly under avro/), else `<type>.avsc`.
  const last = parts.at(-1) ?? '';
  const subject = /^v\d+$/.test(last) ? (parts.at(-2) ?? '') : last;
  if (!EVENT_TYPE_PATTERN.test(subject)) {
    throw new Error(
      `${file}: the path must name an event type such as order.created (<type>.avsc or <type>/v<N>.avsc)`,
    );
  }
  return subject;
}

function versionOf(file: string): number {
  return Number(/\/v(\d+)\.avsc$/.exec(file)?.[1] ?? 1);
}

function byTypeAndVersion(dir: string) {
  return (a: string, b: string) => {
    const fa = relative(dir, a).split(sep).join('/');
    const fb = relative(dir, b).split(sep).join('/');
    return subjectOf(fa).localeCompare(subjectOf(fb)) || versionOf(fa) - versionOf(fb);
  };
}

function exampleFor(dir: string, file: string): unknown {
  if (!file.startsWith('avro/')) return undefined;
  const path = join(dir, 'fixtures', dirname(file.slice('avro/'.length)), `${basename(file, '.avsc')}.json`);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
