/** The model card (models/README.md) as the tests that check its figures read it. */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const modelCard = fs.readFileSync(fileURLToPath(new URL('../models/README.md', import.meta.url)), 'utf8');

/** The rows of the first markdown table whose header line starts with `header`, as trimmed cells. */
export function modelCardTable(header: string): string[][] {
  const lines = modelCard.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  if (start < 0) throw new Error(`models/README.md has no table starting "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}
