import { inline } from './terminal.js';

/** Columns aligned with two spaces between them; the last column is not padded. Cells are data: shown inline (terminal.ts). */
export function renderTable(header: string[], data: string[][]): string {
  const rows = data.map((row) => row.map(inline));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** At most `max` characters, the cut marked with an ellipsis; line breaks become spaces. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Labelled values one a line, the values aligned: `  status    failed`. Values are data: shown inline. */
export function renderFields(fields: [label: string, value: string][], indent = '  '): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${indent}${label.padEnd(width)}  ${inline(value)}`).join('\n');
}
