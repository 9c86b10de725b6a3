/**
 * `npm run cli -- import <file.csv> --workspace <id> [--map column=field]… [--chunk-size N]`:
 * streams the file into the workspace's contacts with a progress bar on stderr and prints the
 * report (JSON) on stdout. Exit code 0 when the import completed, even with refused rows.
 */
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { parseMappingPairs } from '../contacts/import.routes.js';
import { importContacts } from '../contacts/import.js';
import type { ContactImport } from '../contacts/import-records.js';
import type { Runtime } from '../init.js';

export interface ImportArgs {
  file: string;
  workspaceId: string;
  map: string[];
  chunkSize: number | undefined;
}

export function parseImportArgs(argv: string[]): ImportArgs {
  let file: string | undefined;
  let workspaceId: string | undefined;
  let chunkSize: number | undefined;
  const map: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--workspace') workspaceId = value();
    else if (arg === '--map') map.push(value());
    else if (arg === '--chunk-size') {
      chunkSize = Number(value());
      if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 50_000) throw new Error('--chunk-size must be a whole number from 1 to 50000');
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else if (!file) file = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!file) throw new Error('usage: import <file.csv> --workspace <id> [--map column=field]… [--chunk-size N]');
  if (!workspaceId || !/^[0-9a-f-]{36}$/i.test(workspaceId)) throw new Error('--workspace <id> is required (a workspace uuid)');
  return { file, workspaceId, map, chunkSize };
}

function bar(fraction: number, width = 30): string {
  const filled = Math.round(Math.min(1, fraction) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export async function runImport(runtime: Runtime, args: ImportArgs, stderr: NodeJS.WriteStream = process.stderr): Promise<ContactImport> {
  const size = statSync(args.file).size;
  const workspace = await runtime.deps.db.query('SELECT 1 FROM workspaces WHERE id = $1', [args.workspaceId]);
  if (workspace.rows.length === 0) throw new Error(`workspace ${args.workspaceId} does not exist`);
  const started = Date.now();
  const draw = (p: ContactImport) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(p.rowsProcessed / seconds) : 0;
    stderr.write(`\r${bar(size > 0 ? p.bytesRead / size : 1)} ${Math.floor((size > 0 ? p.bytesRead / size : 1) * 100)}%  ${p.rowsProcessed.toLocaleString('en-US')} rows  ${p.rowsFailed.toLocaleString('en-US')} refused  ${rate.toLocaleString('en-US')} rows/s `);
  };
  const report = await importContacts(
    { db: runtime.deps.db, clock: runtime.deps.clock, eventSink: runtime.deps.eventSink },
    args.workspaceId,
    { type: 'system', id: null, requestId: 'cli-import' },
    createReadStream(args.file),
    { source: 'cli', filename: path.basename(args.file), mapping: parseMappingPairs(args.map), chunkSize: args.chunkSize, onProgress: draw },
  );
  draw(report);
  stderr.write('\n');
  return report;
}
