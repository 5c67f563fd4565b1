import type { PropertyFilter } from '../models/index.js';

export const FILTER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists'] as const;

function valueAt(properties: Record<string, unknown>, path: string): unknown {
  let v: unknown = properties;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** True when the properties satisfy every filter. Comparisons (`gt`, …) hold only between two numbers or two strings. */
export function matchesFilters(properties: Record<string, unknown>, filters: PropertyFilter[]): boolean {
  return filters.every((f) => {
    const v = valueAt(properties, f.property);
    switch (f.op) {
      case 'exists':
        return (v !== undefined) === (f.value !== false);
      case 'eq':
        return v === f.value;
      case 'ne':
        return v !== f.value;
      default: {
        if (typeof v !== typeof f.value || (typeof v !== 'number' && typeof v !== 'string')) return false;
        const a = v as number | string;
        const b = f.value as number | string;
        return f.op === 'gt' ? a > b : f.op === 'gte' ? a >= b : f.op === 'lt' ? a < b : a <= b;
      }
    }
  });
}
