import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../cli/stack/paths.js';

const root = repoRoot();
const sourceFolders = ['common', 'gateway', 'consumers', 'cli', 'schemas', 'log'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every variable a config loader reads: the names passed to EnvReader methods. */
function configVariables(): Map<string, string> {
  const found = new Map<string, string>();
  const call = /reader\.\w+\(\s*(\[[^\]]*\]|'[A-Z0-9_]+')/g;
  for (const file of sourceFolders.flatMap((folder) => sourceFiles(join(root, folder)))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(call)) {
      for (const name of match[1]!.matchAll(/'([A-Z][A-Z0-9_]+)'/g))
        found.set(name[1]!, relative(root, file));
    }
  }
  return found;
}

describe('README', () => {
  it('documents every environment variable the processes read', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const variables = configVariables();
    expect(variables.size).toBeGreaterThan(40);
    const missing = [...variables]
      .filter(([name]) => !readme.includes(`\`${name}\``))
      .map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });
});
