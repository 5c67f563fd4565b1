'use client';

import { useEffect, useId, useRef } from 'react';
import 'uplot/dist/uPlot.min.css';
import { money, number } from '../lib/format';

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/**
 * A per-day chart drawn by uPlot (about 20 KB gzipped, canvas): loaded on the client only, sized to its box and
 * redrawn when the box changes. The same numbers are in a table below it for screen readers and copying.
 */
export function DayChart({
  title,
  days,
  series,
  unit = 'count',
}: {
  title: string;
  days: string[];
  series: Series[];
  unit?: 'count' | 'money';
}) {
  const format = unit === 'money' ? money : number;
  const box = useRef<HTMLDivElement>(null);
  const id = useId();
  const data = JSON.stringify({ days, series });

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: { destroy(): void; setSize(s: { width: number; height: number }): void } | undefined;
    let cancelled = false;
    const { days: d, series: s } = JSON.parse(data) as { days: string[]; series: Series[] };
    const observer = new ResizeObserver(() => plot?.setSize({ width: el.clientWidth, height: 220 }));
    import('uplot').then(({ default: UPlot }) => {
      if (cancelled) return;
      plot = new UPlot(
        {
          width: el.clientWidth || 300,
          height: 220,
          cursor: { drag: { x: false, y: false } },
          legend: { show: s.length > 1 },
          scales: { x: { time: true } },
          axes: [
            { stroke: '#5a6070' },
            { stroke: '#5a6070', size: 60, values: (_u, ticks) => ticks.map((t) => format(t)) },
          ],
          series: [
            {},
            ...s.map((x) => ({
              label: x.label,
              stroke: x.color,
              width: 2,
              fill: `${x.color}22`,
              points: { show: d.length < 40 },
            })),
          ],
        },
        [d.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000), ...s.map((x) => x.values)],
        el,
      );
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer.disconnect();
      plot?.destroy();
    };
  }, [data, format]);

  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return (
    <figure className="panel" style={{ margin: 0 }} aria-labelledby={`${id}-t`}>
      <figcaption id={`${id}-t`}>
        <strong>{title}</strong>{' '}
        <span className="muted">
          {series.map((s) => `${s.label}: ${format(total(s.values))}`).join(' · ')} in total
        </span>
      </figcaption>
      <div ref={box} className="chart" role="img" aria-label={`${title} per day, chart`} />
      <details>
        <summary>Numbers per day</summary>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Day</th>
                {series.map((s) => (
                  <th key={s.label} scope="col" className="num">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((day, i) => (
                <tr key={day}>
                  <th scope="row">{day}</th>
                  {series.map((s) => (
                    <td key={s.label} className="num">
                      {format(s.values[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
