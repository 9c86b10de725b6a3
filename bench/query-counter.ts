/**
 * Loaded into a process under measurement (`node --import tsx --import ./bench/query-counter.ts …`,
 * by `bench/idle.ts`): counts every statement its node-postgres clients send (pool, LISTEN
 * connection, holder lock), by its first words, and on SIGUSR2 writes the counts so far as JSON to
 * BENCH_QUERY_COUNT_FILE. Bench-only: the production process never loads it.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.BENCH_QUERY_COUNT_FILE;
const counts = new Map<string, number>();

const original = pg.Client.prototype.query;
pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
  const [config] = args;
  const text = typeof config === 'string' ? config : ((config as { text?: string } | null)?.text ?? '?');
  const kind = text.replace(/\s+/g, ' ').trim().slice(0, 90);
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

if (file) process.on('SIGUSR2', () => writeFileSync(file, JSON.stringify(Object.fromEntries(counts))));
