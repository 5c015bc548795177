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
 * `manifest.json`, whose ids give the order, and `fixtures/` for examples), `<type>/v<N>.avsc`,
 * `<type>.avsc`, and the flat `<type>__v<N>.avsc` for folders that cannot hold subfolders (a
 * Kubernetes ConfigMap: its keys cannot contain `/`). The subject is the event type the path
 * names; N only orders a type's files (the registry numbers the versions it creates). Entries
 * whose names start with `.` are skipped: a mounted ConfigMap keeps a second copy of its files in
 * a hidden, timestamped folder.
 */
export function readSchemaFolder(dir: string): SchemaFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
  const paths = existsSync(join(dir, MANIFEST_FILE)) ? manifestFiles(dir) : folderFiles(dir);
  return paths.map((path) => {
    const file = relative(dir, path).split(sep).join('/');
    return {
      subject: nameOf(file).subject,
      file,
      schema: readFileSync(path, 'utf8'),
      example: exampleFor(dir, file),
    };
  });
}

/**
 * Registers every schema of the folder, in order. Idempotent: a schema the subject already holds
 * answers its existing id and version. Stops at the first refusal (an incompatible or invalid
 * schema), naming the file.
 */
export async function importSchemas(
  registry: Pick<SchemaRegistry, 'register'>,
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

/** The `.avsc` files under `dir`, by type then version; two files naming one version are refused. */
function folderFiles(dir: string): string[] {
  const files = walk(dir).map((path) => {
    const file = relative(dir, path).split(sep).join('/');
    return { path, file, ...nameOf(file) };
  });
  if (files.length === 0) {
    throw new Error(
      `${dir} holds no .avsc file (<type>.avsc, <type>__v<N>.avsc, <type>/v<N>.avsc or a schemas/ folder with ${MANIFEST_FILE})`,
    );
  }
  files.sort((a, b) => a.subject.localeCompare(b.subject) || a.version - b.version);
  for (let i = 1; i < files.length; i += 1) {
    const [previous, current] = [files[i - 1]!, files[i]!];
    if (previous.subject === current.subject && previous.version === current.version) {
      throw new Error(
        `${previous.file} and ${current.file} both name version ${current.version} of ${current.subject}`,
      );
    }
  }
  return files.map((f) => f.path);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    // A mounted ConfigMap's files are symbolic links (into its hidden folder): read through them.
    return entry.name.endsWith('.avsc') ? [path] : [];
  });
}

/**
 * The event type and version a path names: `<type>/v<N>.avsc` (possibly under `avro/`),
 * `<type>__v<N>.avsc`, else `<type>.avsc` (version 1). Event types may contain `_`, so in a file
 * name a final `__v<N>` is always the version, never part of the type.
 */
function nameOf(file: string): { subject: string; version: number } {
  const parts = file.replace(/\.avsc$/, '').split('/');
  const last = parts.at(-1) ?? '';
  const nested = /^v(\d+)$/.exec(last);
  const flat = /^(.+)__v(\d+)$/.exec(last);
  const subject = nested ? (parts.at(-2) ?? '') : flat ? flat[1]! : last;
  const version = Number(nested?.[1] ?? flat?.[2] ?? 1);
  if (!EVENT_TYPE_PATTERN.test(subject) || version < 1) {
    throw new Error(
      `${file}: the name must give an event type such as order.created and an optional version ≥ 1 (<type>.avsc, <type>__v<N>.avsc or <type>/v<N>.avsc)`,
    );
  }
  return { subject, version };
}

function exampleFor(dir: string, file: string): unknown {
  if (!file.startsWith('avro/')) return undefined;
  const path = join(dir, 'fixtures', dirname(file.slice('avro/'.length)), `${basename(file, '.avsc')}.json`);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
