/**
 * `npm run dev`: the API with `tsx watch` (restarts on change) and the Vite dev server with hot
 * reload, which proxies /api to the API. Open the URL Vite prints. Ctrl-C stops both.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const apiPort = process.env.PORT ?? '3008';
const env = { ...process.env, PORT: apiPort, API_PORT: apiPort };

const children = [
  spawn(bin('tsx'), ['watch', '--clear-screen=false', 'src/server.ts'], { cwd: root, stdio: 'inherit', env }),
  spawn(bin('vite'), ['--config', 'web/vite.config.ts'], { cwd: root, stdio: 'inherit', env }),
];

let stopping = false;
function stop(signal, code) {
  if (!stopping) {
    stopping = true;
    process.exitCode = code;
  }
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => stop(signal, 0));
for (const child of children) {
  child.on('error', (error) => {
    console.error(`dev: ${error.message}`);
    stop('SIGTERM', 1);
  });
  // When either process ends on its own, stop the other so nothing is left running.
  child.on('exit', (code) => stop('SIGTERM', stopping ? (process.exitCode ?? 0) : (code ?? 1)));
}
