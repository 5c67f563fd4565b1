import { LIMITS } from './limits.js';

/**
 * Finds the first key MongoDB must never see (`$…`, dotted, holding NUL, `__proto__`, `constructor`, `prototype`),
 * an array directly inside an array (not storable on FerretDB 1.x), or nesting deeper than `maxDepth`. Returns a JSON-pointer-like path and reason, or undefined when clean.
 * Runtime neutral: used by the collector on every payload and available to SDKs for early warnings.
 */
export function findUnsafeKey(value: unknown, maxDepth: number = LIMITS.maxDepth): string | undefined {
  const found = inspectJson(value, maxDepth);
  return typeof found === 'string' ? found : undefined;
}

/**
 * `findUnsafeKey`'s check in the same walk as a cheap upper bound of the UTF-8 bytes of `JSON.stringify(value)`:
 * the reason (a string) when a key is unsafe, else the bound (a number; `Infinity` for values whose JSON this
 * cannot bound, such as objects with a `toJSON`). A payload whose bound is under a size limit needs no
 * serialization to be known to be under it (the collector's per-event check; a bench/ profile of 100-event
 * batches showed re-serializing every event as 7 % of the API's CPU).
 */
export function inspectJson(value: unknown, maxDepth: number = LIMITS.maxDepth): string | number {
  problem = undefined;
  const bound = walk(value, 0, maxDepth);
  return problem ?? bound;
}

/**
 * The keys and indexes from the root to the value being walked: `path[d]` is the step taken at depth `d`, set
 * on the way down into an object or array (entries past the current depth are stale, never cleared, and read
 * only below a step that set them); the path of a problem is built only when found.
 */
const path: Array<string | number> = [];
let problem: string | undefined;

const here = (depth: number) => (depth ? `/${path.slice(0, depth).join('/')}` : '');

/**
 * Keys already found safe (payloads repeat a few keys: `url`, `title`, `library`, …), so that each is checked
 * once per process rather than once per occurrence; bounded, as any client chooses its keys.
 */
const safeKeys = new Set<string>();
const MAX_SAFE_KEYS = 4096;

/** Bytes a JSON string of `length` UTF-16 units can take: quotes, and each unit escaped as \uXXXX at worst. */
const stringBound = (length: number) => 2 + 6 * length;

function fail(reason: string): number {
  problem = reason;
  return -1;
}

/**
 * The JSON bound of a value that is not an object or array (nothing in it can be unsafe), or -1 for one that is.
 * Object and array members are measured here without a call of `walk` each (most of a payload's values).
 */
function leafBound(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringBound(value.length);
    case 'number':
      return 25; // the longest JSON number: "-0.0000012345678901234567" (17 digits, 5 zeros), "-1.2345678901234567e-308"
    case 'boolean':
      return 5;
    case 'object':
      return value === null ? 4 : -1;
    default:
      return 4; // undefined, functions and symbols: left out of objects, "null" in arrays
  }
}

/** The value's JSON bound, or -1 once `problem` is set. */
function walk(value: unknown, depth: number, maxDepth: number): number {
  const leaf = leafBound(value);
  return leaf >= 0 ? leaf : walkObject(value as object, depth, maxDepth);
}

/** An object's or array's JSON bound, or -1 once `problem` is set; `path[depth]` is set only to go deeper. */
function walkObject(value: object, depth: number, maxDepth: number): number {
  if (depth >= maxDepth) return fail(`${here(depth) || '/'}: nesting deeper than ${maxDepth} levels`);
  if (Array.isArray(value)) {
    let bytes = 2;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      let found = leafBound(item);
      if (found < 0) {
        // MongoDB-wire servers such as FerretDB 1.x cannot store an array directly inside an array
        if (Array.isArray(item)) return fail(`${here(depth)}/${i}: arrays inside arrays are not supported`);
        path[depth] = i;
        found = walkObject(item as object, depth + 1, maxDepth);
        if (found < 0) return found;
      }
      bytes += found + 1;
    }
    return bytes;
  }
  let bytes = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? Number.POSITIVE_INFINITY : 2;
  const keys = Object.keys(value);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (!safeKeys.has(key)) {
      const unsafe = keyProblem(key);
      if (unsafe) return fail(`${here(depth)}/${unsafe}`);
      if (safeKeys.size < MAX_SAFE_KEYS) safeKeys.add(key);
    }
    const item: unknown = (value as Record<string, unknown>)[key];
    let found = leafBound(item);
    if (found < 0) {
      path[depth] = key;
      found = walkObject(item as object, depth + 1, maxDepth);
      if (found < 0) return found;
    }
    bytes += stringBound(key.length) + found + 2; // the key, its colon and a comma
  }
  return bytes;
}

/** Why a key may not be stored (its last path segment and the reason), or undefined when it may. */
function keyProblem(key: string): string | undefined {
  if (key.charCodeAt(0) === 36 /* $ */) return `${key}: keys may not start with '$'`;
  if (key.includes('.')) return `${key}: keys may not contain '.'`;
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') return `${key}: reserved key`;
  if (key.length === 0) return ': empty keys are not allowed';
  // BSON keys are NUL-terminated: the driver refuses to encode them, so the whole batch would fail later
  if (key.includes('\u0000')) return `${key.replaceAll('\u0000', '\\u0000')}: keys may not contain NUL characters`;
  return undefined;
}
