import type { FunnelStepDefinition } from '@trackmate/schema';

/** At most this many steps in the builder (the collector takes 2–8). */
export const MAX_STEPS = 8;

/** The builder's steps from its fields `e1…e8` (event) and `p1…p8` (page path), blanks left out. */
export function stepsOfForm(get: (key: string) => string | undefined): FunnelStepDefinition[] {
  const steps: FunnelStepDefinition[] = [];
  for (let i = 1; i <= MAX_STEPS; i++) {
    const event = get(`e${i}`)?.trim();
    if (!event) continue;
    const path = get(`p${i}`)?.trim();
    steps.push(path ? { event, path } : { event });
  }
  return steps;
}

/** Seconds as a person reads them: 45 s, 12 min, 3.5 h, 2.1 days. */
export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
