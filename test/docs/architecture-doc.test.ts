import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingSlugs, readRepoFile, root, trackedFiles } from './repo-files.js';

// docs/architecture.md names files, exports and sections by hand; these checks make a rename or a
// deleted file fail here instead of leaving the document quietly wrong.

const docPath = 'docs/architecture.md';
const doc = readRepoFile(docPath);
const tracked = trackedFiles();
const topLevelDirs = new Set(tracked.filter((path) => path.includes('/')).map((path) => path.split('/')[0]!));
const topLevelFiles = new Set(tracked.filter((path) => !path.includes('/')));

/**
 * Backquoted text that names a repository path: `gateway/routes/ingest-route.ts`, `helm/sluice/`,
 * `Dockerfile`. Text whose first segment is not a tracked top-level folder (`application/avro`,
 * `topic/partition/offset`, `.sluice/stack`, `dist/…`) is not a repository path.
 */
function backquotedRepoPaths(markdown: string): string[] {
  const paths = new Set<string>();
  for (const [, text] of markdown.matchAll(/`([^`\s]+)`/g)) {
    const path = text!.split('#', 1)[0]!;
    if (!/^[\w.-]+(\/[\w.-]+)*\/?$/.test(path)) continue;
    const first = path.split('/', 1)[0]!;
    if (path.includes('/') ? topLevelDirs.has(first) : topLevelFiles.has(path)) paths.add(path);
  }
  return [...paths];
}

/** `[text](target)` links of a Markdown text. */
function linkTargets(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** The rows of the code map: the paths of its file(s) column and the export its last column names. */
function codeMapRows(): Array<{ files: string[]; symbol: string }> {
  const start = doc.indexOf('## Where each stage lives in the code');
  expect(start, 'the code map section').toBeGreaterThan(0);
  const rows: Array<{ files: string[]; symbol: string }> = [];
  for (const line of doc.slice(start).split('\n')) {
    const cells = line.split('|').slice(1, -1);
    if (cells.length !== 3 || /^\s*-+\s*$/.test(cells[0]!)) continue;
    const files = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    const symbol = /`(\w+)`/.exec(cells[2]!)?.[1];
    if (files.length > 0 && symbol !== undefined) rows.push({ files, symbol });
  }
  return rows;
}

function exportsSymbol(source: string, symbol: string): boolean {
  const declared = new RegExp(
    `export\\s+(?:declare\\s+)?(?:async\\s+)?(?:function\\*?|class|const|let|interface|type|enum)\\s+${symbol}\\b`,
  );
  const listed = new RegExp(`export\\s*(?:type\\s*)?\\{[^}]*\\b${symbol}\\b[^}]*\\}`);
  return declared.test(source) || listed.test(source);
}

describe('docs/architecture.md', () => {
  it('names only repository paths that exist', () => {
    const paths = backquotedRepoPaths(doc);
    expect(paths.length).toBeGreaterThan(80);
    const missing = paths.filter((path) => !existsSync(join(root, path)));
    expect(missing).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const target of linkTargets(doc)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const path = file === '' ? docPath : normalize(join(dirname(docPath), file));
      if (!existsSync(join(root, path))) {
        broken.push(`${target} (no ${path})`);
      } else if (anchor !== undefined && !headingSlugs(readRepoFile(path)).has(anchor)) {
        broken.push(`${target} (no heading #${anchor} in ${path})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names in its code map, row by row, an export that the row’s files really have', () => {
    const rows = codeMapRows();
    expect(rows.length).toBeGreaterThan(40);
    const wrong = rows
      .filter(({ symbol, files }) => {
        const sources = files.filter((file) => /\.[cm]?[jt]s$/.test(file)).map(readRepoFile);
        return !sources.some((source) => exportsSymbol(source, symbol));
      })
      .map(({ symbol, files }) => `${symbol} in ${files.join(', ')}`);
    expect(wrong).toEqual([]);
  });

  it('has every section that a file of the repository points to (path.md#anchor)', () => {
    const broken: string[] = [];
    for (const file of tracked) {
      if (!existsSync(join(root, file)) || file === 'package-lock.json') continue;
      const text = readRepoFile(file);
      for (const [reference, target, anchor] of text.matchAll(/([\w./-]+\.md)#([\w-]+)/g)) {
        // Relative to the file (Markdown links), else to the repository (comments in code).
        const candidates = [normalize(join(dirname(file), target!)), normalize(target!)];
        const path = candidates.find((candidate) => existsSync(join(root, candidate)));
        if (path === undefined) continue;
        if (!headingSlugs(readRepoFile(path)).has(anchor!)) broken.push(`${file}: ${reference}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
