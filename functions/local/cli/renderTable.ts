export interface Column {
  header: string;
  /** Numbers read best right-aligned. @default 'left' */
  align?: 'left' | 'right';
  /** Longer cells are cut with `…`, so one long reason does not wrap every row. */
  maxWidth?: number;
  /**
   * For a last column of long text that must stay whole (an error message): the terminal wraps it, and
   * its rule spans the header only, so the rule line itself never wraps.
   */
  wrap?: boolean;
}

const GAP = '  ';

const truncate = (cell: string, maxWidth: number | undefined): string =>
  maxWidth !== undefined && cell.length > maxWidth ? `${cell.slice(0, maxWidth - 1)}…` : cell;

/**
 * Lays rows out in aligned columns under a header and a rule, for a terminal.
 *
 * @example
 * renderTable([{ header: 'KEY' }, { header: 'READS', align: 'right' }], [['product:1', '12']]);
 * // KEY        READS
 * // ---------  -----
 * // product:1     12
 */
export const renderTable = (
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  { header = true }: { header?: boolean } = {},
): string => {
  const cells = rows.map((row) =>
    columns.map((column, index) => truncate(row[index] ?? '', column.maxWidth)),
  );
  const widths = columns.map((column, index) =>
    Math.max(header ? column.header.length : 0, ...cells.map((row) => (row[index] as string).length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, index) => {
        const width = widths[index] as number;
        return columns[index]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(GAP)
      .trimEnd();
  const lines = cells.map(line);
  if (!header) return lines.join('\n');
  return [
    line(columns.map((column) => column.header)),
    line(
      columns.map((column, index) =>
        '-'.repeat(column.wrap ? column.header.length : (widths[index] as number)),
      ),
    ),
    ...lines,
  ].join('\n');
};

/** Label / value pairs, one per line, values aligned: the shape of a single record. */
export const renderFields = (fields: readonly (readonly [label: string, value: string])[]): string =>
  renderTable([{ header: '' }, { header: '' }], fields, { header: false });
