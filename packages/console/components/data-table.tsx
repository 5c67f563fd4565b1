import type { CSSProperties, ReactNode } from 'react';

export interface Column<T> {
  /** The column's heading, unique in its table (also its React key). */
  header: string;
  cell: (row: T) => ReactNode;
  /** Class of the header and of every cell of the column (`hide-narrow`, `num`, `break`). */
  className?: string;
  /** Class of the cells only, where the header should not get it. */
  cellClassName?: string;
  style?: CSSProperties;
}

/**
 * The console's one table: a header row and one row per item, in a scrolling wrapper. `panel` frames it as a
 * page's main list; `stack` lets narrow screens stack each row's cells (tables inside a panel).
 */
export function DataTable<T>({
  rows,
  rowKey,
  columns,
  panel = false,
  stack = false,
  rowData,
}: {
  rows: T[];
  rowKey: (row: T) => string;
  columns: Array<Column<T> | false | null | undefined>;
  panel?: boolean;
  stack?: boolean;
  /** `data-*` attributes of a row (tests and styles find rows by them). */
  rowData?: (row: T) => Record<`data-${string}`, string>;
}) {
  const shown = columns.filter((c): c is Column<T> => Boolean(c));
  return (
    <div className={panel ? 'panel table-wrap' : 'table-wrap'}>
      <table className={stack ? 'stack' : undefined}>
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c.header} scope="col" className={c.className}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowData?.(row)}>
              {shown.map((c) => (
                <td key={c.header} className={c.cellClassName ?? c.className} style={c.style}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
