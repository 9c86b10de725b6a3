/**
 * The real process, as `npm start` runs it, on the embedded default: it becomes ready on a fresh
 * data directory, keeps its data across a restart, and exits cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(path.join(tmpdir(), 'unite-hub-server-'));
const port = 41_000 + Math.floor(Math.random() * 10_000);
const base = `http://127.0.0.1:${port}`;

function start(extraEnv: Record<string, string> = {}): ChildProcess {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...extraEnv };
  delete env.DATABASE_URL;
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function waitReady(deadlineMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > deadlineMs) throw new Error('server did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('server process on the embedded database', { timeout: 300_000 }, () => {
  it('starts ready on a fresh data directory, keeps data across a restart, and shuts down on SIGTERM', async () => {
    const first = start();
    try {
      await waitReady(120_000);
      const signup = await fetch(`${base}/api/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'persist@example.com', password: 'persistent password', name: 'P', organizationName: 'Persist' }),
      });
      expect(signup.status).toBe(201);
    } finally {
      first.kill('SIGTERM');
    }
    expect(await exitOf(first)).toBe(0);

    const second = start();
    try {
      await waitReady(120_000);
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'persist@example.com', password: 'persistent password' }),
      });
      expect(login.status).toBe(200);
    } finally {
      second.kill('SIGTERM');
    }
    expect(await exitOf(second)).toBe(0);
  });

  it('refuses to start with a bad variable, naming it', async () => {
    const child = start({ PORT: 'not-a-port' });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const code = await exitOf(child);
    expect(code).toBe(78);
    expect(stderr).toContain('PORT');
  });
});
