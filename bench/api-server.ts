/**
 * The server side of bench:api, one process: the real app (src/app.ts through src/init.ts, the
 * configuration read from the environment like src/server.ts) and, on a second port, the floor —
 * a bare Fastify instance whose one route runs `SELECT 1` through the same database pool. Prints
 * one JSON line `{"app": port, "floor": port}` once both listen; stops on SIGTERM.
 */
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createRuntime } from '../src/init.js';

const config = loadConfig();
const runtime = await createRuntime(config);
const app = await buildApp(runtime.deps);
await app.listen({ port: 0, host: '127.0.0.1' });

const floor = Fastify({ logger: false });
floor.get('/select1', async () => {
  const result = await runtime.deps.db.query<{ one: number }>('SELECT 1 AS one');
  return { one: result.rows[0]!.one };
});
await floor.listen({ port: 0, host: '127.0.0.1' });

const portOf = (address: ReturnType<typeof app.server.address>) => (typeof address === 'object' && address ? address.port : 0);
process.stdout.write(`${JSON.stringify({ app: portOf(app.server.address()), floor: portOf(floor.server.address()) })}\n`);

process.on('SIGTERM', () => {
  void (async () => {
    await floor.close();
    await app.close();
    await runtime.close();
    process.exit(0);
  })();
});
