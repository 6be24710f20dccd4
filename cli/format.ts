/** Output formats of every CLI command. */
export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export interface Column {
  key: string;
  header: string;
  format?: (value: unknown) => string;
}

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** Rows as an aligned text table. */
export function table(rows: Array<Record<string, unknown>>, columns: Column[]): string {
  const cells = rows.map((row) => columns.map((c) => (c.format ?? text)(row[c.key])));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
  ].join('\n');
}

/** Rows as RFC 4180 CSV with a header line. */
export function csv(rows: Array<Record<string, unknown>>, columns: Column[]): string {
  const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return [
    columns.map((c) => quote(c.key)).join(','),
    ...rows.map((row) => columns.map((c) => quote(text(row[c.key]))).join(',')),
  ].join('\n');
}

/** Render rows in the chosen format; JSON prints `raw`, the API's own answer. */
export function render(
  format: Format,
  rows: Array<Record<string, unknown>>,
  columns: Column[],
  raw: unknown,
): string {
  if (format === 'json') return JSON.stringify(raw, null, 2);
  return format === 'csv' ? csv(rows, columns) : table(rows, columns);
}

export const usd = (value: unknown) => (typeof value === 'number' ? `$${value}` : '');
export const percent = (value: unknown) =>
  typeof value === 'number' ? `${Math.round(value * 1000) / 10}%` : '';
