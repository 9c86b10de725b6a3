/** `npm run cli -- <command> …`: operator commands. */
import { ConfigError, loadConfig } from '../config.js';
import { createRuntime } from '../init.js';
import { createLogger } from '../platform/logger.js';
import { parseImportArgs, runImport } from './import.js';

const [command, ...rest] = process.argv.slice(2);

try {
  switch (command) {
    case 'import': {
      const args = parseImportArgs(rest);
      const config = loadConfig();
      const runtime = await createRuntime(config, { logger: createLogger('warn') });
      try {
        const report = await runImport(runtime, args);
        process.stdout.write(`${JSON.stringify({ ...report, errors: report.errors.slice(0, 20) }, null, 2)}\n`);
        if (report.rowsFailed > 0) process.stderr.write(`${report.rowsFailed} rows were refused; the first 20 are listed in "errors", the first 1000 stored (GET /api/imports/${report.id})\n`);
      } finally {
        await runtime.close();
      }
      break;
    }
    default:
      process.stderr.write('usage: npm run cli -- import <file.csv> --workspace <id> [--map column=field]… [--chunk-size N]\n');
      process.exit(command ? 1 : 0);
  }
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
}
