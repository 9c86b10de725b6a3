/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../init.js';

try {
  const config = loadConfig();
  const db = await openDatabase(config);
  const applied = await migrate(db);
  await db.close();
  process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
