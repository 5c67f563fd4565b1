import { LIMITS } from './limits.js';

/**
 * Finds the first key MongoDB must never see (`$…`, dotted, holding NUL, `__proto__`, `constructor`, `prototype`),
 * an array directly inside an array (not storable on FerretDB 1.x), or nesting deeper than `maxDepth`. Returns a JSON-pointer-like path and reason, or undefined when clean.
 * Runtime neutral: used by the collector on every payload and available to SDKs for early warnings.
 */
export function findUnsafeKey(value: unknown, maxDepth: number = LIMITS.maxDepth): string | undefined {
  return walk(value, '', 0, maxDepth);
}

function walk(value: unknown, path: string, depth: number, maxDepth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= maxDepth) return `${path || '/'}: nesting deeper than ${maxDepth} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      // MongoDB-wire servers such as FerretDB 1.x cannot store an array directly inside an array
      if (Array.isArray(value[i])) return `${path}/${i}: arrays inside arrays are not supported`;
      const found = walk(value[i], `${path}/${i}`, depth + 1, maxDepth);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key.charCodeAt(0) === 36 /* $ */) return `${path}/${key}: keys may not start with '$'`;
    if (key.includes('.')) return `${path}/${key}: keys may not contain '.'`;
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      return `${path}/${key}: reserved key`;
    }
    if (key.length === 0) return `${path}/: empty keys are not allowed`;
    // BSON keys are NUL-terminated: the driver refuses to encode them, so the whole batch would fail later
    if (key.includes('\u0000'))
      return `${path}/${key.replaceAll('\u0000', '\\u0000')}: keys may not contain NUL characters`;
    const found = walk((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1, maxDepth);
    if (found) return found;
  }
  return undefined;
}
