import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, trackedFiles } from './repo-files.js';

// A clone must explain itself: comments and docs cite sections of docs/architecture.md or the
// README, never a document that only some checkouts have beside them. The patterns are assembled
// here so that this file does not contain what it looks for.
const outsideReferences: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'the design document', pattern: new RegExp(['design', 'md'].join('\\.')) },
  { name: 'a section of the design', pattern: new RegExp(['design', '§'].join('\\s*'), 'i') },
  { name: 'a section of the design', pattern: new RegExp(['§\\s*\\d+\\w?', 'of the design'].join(' '), 'i') },
  { name: 'the shared folder', pattern: new RegExp(['\\.\\.', 'shared'].join('/')) },
  { name: 'the shared folder', pattern: new RegExp(['/work', 'shared'].join('/')) },
];

describe('references', () => {
  it('no tracked file mentions a document outside the repository', () => {
    const found: string[] = [];
    for (const file of trackedFiles()) {
      // A file deleted in the working tree but not yet from the index cannot say anything.
      if (!existsSync(join(root, file))) continue;
      const lines = readFileSync(join(root, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        for (const { name, pattern } of outsideReferences) {
          if (pattern.test(line)) found.push(`${file}:${index + 1}: ${name}`);
        }
      });
    }
    expect(found).toEqual([]);
  });
});
