import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config.ts';

/**
 * The error codes docs/protocol.md documents: the first column of its "error
 * code" table, and the code column of the WHIP/WHEP status tables (the HTTP-only codes live there).
 */
export function documentedErrorCodes(): Set<string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'protocol.md'), 'utf8');
  const table = doc.slice(doc.indexOf('| error code | meaning |'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n');
  const codes = new Set(rows.flatMap((row) => /^\| `([a-z_]+)` \|/.exec(row)?.[1] ?? []));
  for (const match of doc.matchAll(/^\| [1-5][0-9]{2} \| `([a-z_]+)` \|/gm)) codes.add(match[1]!);
  return codes;
}
