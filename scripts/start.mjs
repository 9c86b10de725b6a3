/**
 * `npm start`: builds the web app when dist/web is missing (a fresh clone), then runs the server
 * with tsx, forwarding SIGTERM/SIGINT to it and exiting with its exit code.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Vite's build() sets NODE_ENV=production in this process; the server must see the caller's value.
const serverEnv = { ...process.env };

if (!existsSync(path.join(root, 'dist/web/index.html'))) {
  console.log('Building the web app (dist/web is missing)…');
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' });
}

const server = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], { cwd: root, stdio: 'inherit', env: serverEnv });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (server.exitCode === null && server.signalCode === null) server.kill(signal);
  });
}

server.on('error', (error) => {
  console.error(`Could not start the server: ${error.message}`);
  process.exit(1);
});
server.on('exit', (code, signal) => {
  // A server killed by a signal exits as a shell would report it (128 + signal number).
  if (code !== null) process.exit(code);
  const signals = { SIGINT: 2, SIGTERM: 15, SIGKILL: 9 };
  process.exit(128 + (signals[signal] ?? 1));
});
