/** Markdown tables: the same text is printed, stored in results.json and pasted into the docs. */

/** `columns`: header strings; a leading ':' or trailing ':' aligns like markdown (':x' left, 'x:' right). */
export function markdownTable(columns, rows) {
  const heads = columns.map((c) => c.replace(/^:|:$/g, ''));
  const rule = columns.map((c) => (c.endsWith(':') ? '---:' : '---'));
  const line = (cells) => `| ${cells.map((c) => String(c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(heads), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}
