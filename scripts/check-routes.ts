/**
 * `npm run check:routes` (part of `npm run build`): builds the app on an in-memory PGlite database
 * (migrated, as the server does on PGlite) and fails when a route does not declare its answers —
 * a 2xx response schema and the ErrorResponse schema for each 4xx it can answer
 * (src/http/route-check.ts; test/routes.test.ts checks the same in `npm test`).
 */
import { randomBytes } from 'node:crypto';
import type { RouteOptions } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPgliteDatabase } from '../src/db/database.js';
import { routeTableProblems } from '../src/http/route-check.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: randomBytes(32).toString('hex'), PUBLIC_URL: 'http://localhost:3000', DATA_DIR: '/tmp/unite-hub-check-routes', LOG_LEVEL: 'silent' });
const db = await createPgliteDatabase(undefined);
const runtime = await createRuntime(config, { db, logger: createLogger('silent') });
const routes: RouteOptions[] = [];
const app = await buildApp(runtime.deps, { onRoute: (route) => routes.push(route) });
await app.ready();
const problems = routeTableProblems(routes);
await app.close();
await runtime.close();
await db.close();
if (problems.length > 0) {
  console.error(`${problems.length} route(s) do not declare their answers (docs/api.md "Answers"):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-routes: ${routes.length} routes declare their answers`);
