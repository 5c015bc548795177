import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest folder above this module whose package.json is Sluice's. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'sluice') return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the Sluice checkout above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export interface StackPaths {
  /** Data, logs and pid files of the processes the stack starts (`SLUICE_STATE_DIR`, default `.sluice/stack`). */
  stateDir: string;
  /** Downloaded artifacts kept between runs (`SLUICE_CACHE_DIR`, default `.sluice/cache`). */
  cacheDir: string;
  root: string;
}

export function stackPaths(env: NodeJS.ProcessEnv = process.env): StackPaths {
  const root = repoRoot();
  return {
    root,
    stateDir: resolve(root, env.SLUICE_STATE_DIR ?? '.sluice/stack'),
    cacheDir: resolve(root, env.SLUICE_CACHE_DIR ?? '.sluice/cache'),
  };
}
