import type { FunnelResult } from '@trackmate/schema';
import { number, percent } from '@/lib/format';
import { duration } from '@/lib/funnel-form';

/**
 * A funnel as bars: each step's people as a share of the first step's, with its conversion, the drop-off from
 * the step before and the median time it took.
 */
export function FunnelChart({ result }: { result: FunnelResult }) {
  const first = result.steps[0]?.visitors ?? 0;
  return (
    <ol className="funnel-chart">
      {result.steps.map((s, k) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the funnel
        <li key={`step-${k + 1}`} data-step={k + 1}>
          <div className="funnel-label">
            <strong>
              {k + 1}. {s.event}
              {s.path ? ` ${s.path}` : ''}
            </strong>
            <span>
              <span data-visitors>{number(s.visitors)}</span> people · {percent(s.conversionRate)}
            </span>
          </div>
          <div className="funnel-track" aria-hidden="true">
            <div className="funnel-bar" style={{ width: `${first ? (s.visitors / first) * 100 : 0}%` }} />
          </div>
          {k > 0 ? (
            <p className="muted funnel-drop">
              <span data-dropoff>{number(s.dropOff)}</span> dropped off (
              {percent(s.fromPrevious === null ? null : 1 - s.fromPrevious)}) · median{' '}
              {duration(s.medianSecondsFromPrevious)} after step {k}
            </p>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
