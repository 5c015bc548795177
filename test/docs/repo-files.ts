import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../cli/stack/paths.js';

export const root = repoRoot();

/** The files git tracks, as repository-relative paths: what a clone holds. */
export function trackedFiles(): string[] {
  const output = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  return output.split('\0').filter((path) => path.length > 0);
}

export function readRepoFile(path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

/**
 * GitHub's anchor for a Markdown heading: lowercased, punctuation other than `-` and `_` dropped
 * (backquotes included), spaces turned into hyphens.
 */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of every heading of a Markdown text (headings inside code fences do not count). */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) slugs.add(headingSlug(heading[1]!));
  }
  return slugs;
}
