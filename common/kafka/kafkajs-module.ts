import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const installed = Symbol.for('sluice.kafkajsModule');
/** Calls of the replacements swapped in with `countCalls`, by module. */
const callCounts = new Map<string, number>();

export interface ModuleSwap {
  /** The kafkajs module (a package path), whose export is a function. */
  module: string;
  /** Builds the replacement from kafkajs's own export (which it may keep, as a fallback). */
  replace: (original: (...args: never[]) => unknown) => (...args: never[]) => unknown;
  /** Modules that took the old export with `require` when loaded: evicted, so they load again. */
  evict?: readonly string[];
  /**
   * Count the replacement's calls (kafkajsModuleCalls), so a test can see that kafkajs really goes
   * through it. Only for replacements called once per request or send, never once per record.
   */
  countCalls?: boolean;
}

/**
 * Replaces a kafkajs (2.2.4, pinned) module's export in Node's require cache: every `require` of
 * it from then on gets the replacement. Modules that already hold the old one are evicted so the
 * next `require` of them loads them again with the new one. Idempotent; throws if kafkajs changed
 * the module's shape (its export is no longer a function).
 */
export function swapKafkajsModule({ module, replace, evict = [], countCalls = false }: ModuleSwap): void {
  if (isKafkajsModuleSwapped(module)) return;
  const path = require.resolve(module);
  const original = require(path) as unknown;
  if (typeof original !== 'function')
    throw new Error(`kafkajs changed: ${module} no longer exports a function`);
  const built = replace(original as (...args: never[]) => unknown);
  const counted = countCalls
    ? function (this: unknown, ...args: never[]) {
        callCounts.set(module, (callCounts.get(module) ?? 0) + 1);
        return Reflect.apply(built, this, args) as unknown;
      }
    : built;
  const replacement = Object.assign(counted, { [installed]: true as const });
  require.cache[path]!.exports = replacement;
  for (const name of evict) delete require.cache[require.resolve(name)];
}

/** Whether `module` of kafkajs has been loaded in this process. */
export function isKafkajsModuleLoaded(module: string): boolean {
  return require.cache[require.resolve(module)] !== undefined;
}

/** How many times the replacement swapKafkajsModule put in `module` (with `countCalls`) has run. */
export function kafkajsModuleCalls(module: string): number {
  return callCounts.get(module) ?? 0;
}

/** Whether `module` of kafkajs holds a replacement put there by swapKafkajsModule. */
export function isKafkajsModuleSwapped(module: string): boolean {
  const current = require.cache[require.resolve(module)]?.exports as { [installed]?: true } | undefined;
  return current?.[installed] === true;
}

export interface MethodSwap {
  /** The kafkajs module (a package path), whose export is a class. */
  module: string;
  /** The method of that class's prototype to replace. */
  method: string;
  /** Builds the replacement from kafkajs's own method. */
  replace: (original: (...args: never[]) => unknown) => (...args: never[]) => unknown;
}

/**
 * Replaces a method on the prototype of a class kafkajs (2.2.4, pinned) exports. For a class that
 * kafkajs takes with `require` as soon as the package is loaded (so swapKafkajsModule would come
 * too late for every module holding it), this reaches every instance, made before or after, in
 * whatever order kafkajs and Sluice were loaded. Idempotent; throws if kafkajs changed the class
 * (no such method).
 */
export function swapKafkajsMethod({ module, method, replace }: MethodSwap): void {
  const exported = require(module) as unknown;
  const prototype = (typeof exported === 'function' ? exported.prototype : undefined) as
    Record<string, unknown> | undefined;
  const original = prototype?.[method];
  if (!prototype || typeof original !== 'function')
    throw new Error(`kafkajs changed: ${module} no longer has a method ${method}`);
  if (isKafkajsMethodSwapped(module, method)) return;
  prototype[method] = Object.assign(replace(original as (...args: never[]) => unknown), {
    [installed]: true as const,
  });
}

/** Whether `method` of the class `module` of kafkajs exports holds a replacement put there by swapKafkajsMethod. */
export function isKafkajsMethodSwapped(module: string, method: string): boolean {
  const exported = require(module) as { prototype?: Record<string, { [installed]?: true } | undefined> };
  return exported.prototype?.[method]?.[installed] === true;
}
