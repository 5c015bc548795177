import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A kafkajs module as kafkajs ships it, loaded fresh even where Sluice has swapped it in the
 * require cache (common/kafka/kafkajs-module.ts); the swap stays in place for everyone else.
 * `alsoFresh` lists modules it requires that must be kafkajs's own as well.
 */
export function loadKafkajsOriginal<T>(module: string, alsoFresh: readonly string[] = []): T {
  const paths = [module, ...alsoFresh].map((name) => require.resolve(name));
  const cached = paths.map((path) => require.cache[path]);
  for (const path of paths) delete require.cache[path];
  try {
    return require(paths[0]!) as T;
  } finally {
    paths.forEach((path, index) => {
      if (cached[index]) require.cache[path] = cached[index];
      else delete require.cache[path];
    });
  }
}

/** A small deterministic generator (an LCG), so a failing generated case names its seed. */
export function randomSource(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % below;
  };
}

// ASCII, 2-, 3- and 4-byte UTF-8 characters (and, from the emoji's halves, lone surrogates).
const textAlphabet = 'aZ9-_é€🎉';

/** `length` characters drawn by `next` from an alphabet that exercises UTF-8 lengths. */
export function randomText(next: (below: number) => number, length: number): string {
  return Array.from({ length }, () => textAlphabet[next(8)]).join('');
}

/** `length` random bytes drawn by `next`. */
export function randomBytes(next: (below: number) => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => next(256)));
}
