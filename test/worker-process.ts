/**
 * The production server entry (src/server.ts) started in the worker role, as deployed
 * (UNITE_ROLE=worker: every background worker — campaign engine, email sender, event processor,
 * webhooks — and no HTTP), for the crash tests and the engine benchmarks: what they kill and
 * measure is the real process, not a harness. Resolves once the process logged that it started.
 * `stop()` reads its peak RSS (VmHWM) and then stops it with SIGTERM (the batch in hand finishes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Peak resident memory so far, in MB (Linux /proc); 0 where unavailable. */
  peakRssMb(): number;
  /** SIGTERM, then the exit; resolves with the peak RSS read just before it. */
  stop(): Promise<number>;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts `src/server.ts` with UNITE_ROLE=worker on `databaseUrl`; `env` adds to (or overrides) the
 * environment (ENGINE_BATCH_SIZE, WORKER_POLL_MS, …). LOG_LEVEL is info so that the start line can
 * be seen; the rest of its log is drained.
 */
export function startServerWorker(databaseUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', APP_SECRET: 'worker-process-secret-at-least-32-chars', DATA_DIR: '/tmp/unite-hub-worker-process', ...env, DATABASE_URL: databaseUrl, UNITE_ROLE: 'worker', LOG_LEVEL: 'info', PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const peakRssMb = () => {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return kb ? Math.round(Number(kb) / 1024) : 0;
    } catch {
      return 0;
    }
  };
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('Unite Hub started')) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      child.off('exit', onEarlyExit);
      resolve({
        child,
        peakRssMb,
        async stop() {
          const peak = peakRssMb();
          child.kill('SIGTERM');
          await exited(child);
          return peak;
        },
      });
    };
    const onEarlyExit = (code: number | null) => reject(new Error(`the worker process exited with ${code} before it started: ${out.slice(-500)}`));
    child.stdout!.on('data', onData);
    child.once('exit', onEarlyExit);
  });
}

/**
 * Starts `src/server.ts` with UNITE_ROLE=api on `databaseUrl` and a free port of 42000–51999;
 * resolves with its base URL once `/health/ready` answers 200 (within 90 s). `stop()`: SIGTERM,
 * then the exit.
 */
export async function startServerApi(databaseUrl: string): Promise<{ base: string; stop(): Promise<void> }> {
  const port = 42_000 + Math.floor(Math.random() * 10_000);
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, UNITE_ROLE: 'api', PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', APP_SECRET: 'test-secret-that-is-at-least-32-characters', PUBLIC_URL: base, DATA_DIR: '/tmp/unite-hub-test-data' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await exited(child);
  };
  const started = Date.now();
  for (;;) {
    const status = await fetch(`${base}/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) return { base, stop };
    if (child.exitCode !== null || Date.now() - started > 90_000) {
      await stop();
      throw new Error(`the api process did not become ready (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
