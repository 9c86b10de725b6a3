/**
 * How a SQL text goes to node-postgres: as a named prepared statement or as plain text, rows as
 * objects or as arrays.
 *
 * On PostgreSQL, a text sent without a name is parsed, analysed and planned on every execution.
 * For the short statements of a request that is most of the database's CPU: measured with
 * `log_parser_stats`/`log_planner_stats` while tagging contacts (`npm run bench:endpoints`), parse,
 * analysis and planning took 1.1 of the backends' 2.0 CPU seconds, execution 0.95. A named
 * statement is parsed once per connection; later executions only bind and execute (PostgreSQL
 * still plans it for the given values until a generic plan is as cheap, `plan_cache_mode`).
 *
 * So every statement with parameters is named once it has run a few times (`AUTO_AFTER`), up to
 * `AUTO_LIMIT` texts per process (each name is a prepared statement kept by every pool
 * connection, memory in each backend); statements built from user input take the same few shapes
 * and stay under it. Texts whose result columns would change with the table's columns
 * (`SELECT * FROM table`, `RETURNING *`) are never named: PostgreSQL refuses to run a prepared
 * statement whose result type changed ("cached plan must not change result type"), which a
 * migration adding a column during a blue-green deployment would cause (docs/deploy.md).
 * Statements without parameters stay plain text (they may hold several statements). PGlite runs
 * every text as is.
 *
 * A named statement is still planned for its values on every run while that plan looks cheaper
 * than the generic one. A small array parameter does that for good: `id = ANY($1::uuid[])` given
 * two ids is costed below the generic plan's assumed ten, so the statement is planned again on
 * every run for the same plan (for the campaign sink's first statement, ~300 µs of backend CPU
 * against ~90 µs of execution). On the hot paths such a parameter is written
 * `ANY((SELECT $1::uuid[])::uuid[])`: the planner then sees no values in either plan and keeps
 * the generic one (src/campaigns/sink-plan.test.ts).
 */
import type pg from 'pg';

/** Explicitly named statements (`preparedStatement`), by text. */
const PREPARED = new Map<string, string>();
/** Texts named automatically, by text. */
const AUTO = new Map<string, string>();
/** How often each not-yet-named text ran (cleared when it grows past a bound: dynamic texts). */
const uses = new Map<string, number>();
const AUTO_AFTER = 3;
const USES_BOUND = 10_000;
const AUTO_LIMIT = 400;
const RESULT_FOLLOWS_TABLE = /RETURNING\s+\*|^\s*SELECT\s+(?:\w+\.)?\*\s+FROM\s+\w+\s*(?:$|\s(?:WHERE|ORDER|LIMIT|FOR)\b)/i;

/** Marks `sql` (a constant text) as a named prepared statement; returns it unchanged. */
export function preparedStatement(name: string, sql: string): string {
  const known = PREPARED.get(sql);
  if (known !== undefined && known !== name) throw new Error(`statement already prepared as ${known}`);
  for (const [text, other] of PREPARED) if (other === name && text !== sql) throw new Error(`prepared statement name ${name} is taken`);
  PREPARED.set(sql, name);
  return sql;
}

/**
 * Statements whose rows come back as arrays of the column values in select order (`arrayRows`),
 * on both engines: node-postgres builds an object per row by adding each column under its name,
 * which for a page of wide rows costs more than the caller building its own objects of one shape.
 */
const ARRAY_ROWS = new Set<string>();

/** Marks `sql` (a constant text) as answering rows as arrays; returns it unchanged. */
export function arrayRows(sql: string): string {
  ARRAY_ROWS.add(sql);
  return sql;
}

export function rowsAsArrays(sql: string): boolean {
  return ARRAY_ROWS.has(sql);
}

/** The name `sql` runs under on PostgreSQL, if any (naming it now if it has earned one). */
export function statementName(sql: string, params?: readonly unknown[]): string | undefined {
  const explicit = PREPARED.get(sql);
  if (explicit !== undefined) return explicit;
  const auto = AUTO.get(sql);
  if (auto !== undefined || params === undefined || AUTO.size >= AUTO_LIMIT) return auto;
  const count = (uses.get(sql) ?? 0) + 1;
  if (count < AUTO_AFTER) {
    if (uses.size >= USES_BOUND) uses.clear();
    uses.set(sql, count);
    return undefined;
  }
  uses.delete(sql);
  if (RESULT_FOLLOWS_TABLE.test(sql)) return undefined;
  const name = `auto_${AUTO.size + 1}`;
  AUTO.set(sql, name);
  return name;
}

export function pgQuery(sql: string, params?: readonly unknown[]): string | pg.QueryConfig {
  const name = statementName(sql, params);
  const arrays = ARRAY_ROWS.has(sql);
  if (name === undefined && !arrays) return sql;
  return { ...(name === undefined ? {} : { name }), ...(arrays ? { rowMode: 'array' } : {}), text: sql, values: params as unknown[] | undefined };
}
