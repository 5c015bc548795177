import type { Redis } from 'ioredis';

/** Runs a Lua script registered on a client, with its keys (KEYS) and arguments (ARGV). */
export type RedisScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

type DefinedCommand = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

export interface DefineRedisScriptOptions {
  /**
   * false: the call is written to the socket at once, even on a client with auto-pipelining. For
   * a caller that gathers its own batches on `setImmediate` (tick-batcher.ts): auto-pipelining
   * defers to `setImmediate` too, so it would hold each batch back one more turn of the loop.
   */
  autoPipelined?: boolean;
}

/** The scripts each client was given here, by command name. */
const definedScripts = new WeakMap<Redis, Map<string, string>>();

/**
 * Registers `lua` on `redis` as the command `name` (ioredis `defineCommand`): ioredis then sends
 * the body once per connection and EVALSHA after that, falling back to EVAL on NOSCRIPT (a Redis
 * restart, SCRIPT FLUSH) by itself, so Redis does not receive and parse the script on every call.
 *
 * Stores share one client (a process has one fail-fast client), and may be created more than once
 * on it: defining the same name with the same body again reuses the command. A name already taken
 * by another body, or by an ioredis method, throws: `defineCommand` would silently replace it.
 */
export function defineRedisScript(
  redis: Redis,
  name: string,
  lua: string,
  options: DefineRedisScriptOptions = {},
): RedisScript {
  let defined = definedScripts.get(redis);
  if (defined === undefined) {
    defined = new Map();
    definedScripts.set(redis, defined);
  }
  const existing = defined.get(name);
  if (existing === undefined) {
    if (name in redis) throw new Error(`Redis script name ${name} is already a command of the client`);
    redis.defineCommand(name, { lua });
    defined.set(name, lua);
  } else if (existing !== lua) {
    throw new Error(`Redis script name ${name} is already defined with another script`);
  }
  const ignored = redis.options.autoPipeliningIgnoredCommands ?? [];
  if (options.autoPipelined === false && !ignored.includes(name)) {
    // A new array: the client may share its default one with every other client.
    redis.options.autoPipeliningIgnoredCommands = [...ignored, name];
  }
  const command = (redis as unknown as Record<string, DefinedCommand>)[name]!;
  // Without `numberOfKeys` in the definition, ioredis takes it as the first argument, as EVAL does.
  return (keys, args) => command.call(redis, keys.length, ...keys, ...args);
}
