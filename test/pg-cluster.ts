/**
 * A PostgreSQL cluster of one's own, to stop and restart at will (never the shared one): initdb +
 * pg_ctl in a temp directory, on a free port, fsync off. Used by test/pg-restart.test.ts and the
 * chaos suite (scripts/chaos.ts). As root, PostgreSQL's programs run as the postgres user.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../deploy/support.js';

/** The newest installed PostgreSQL's programs (Debian layout), or PG_BINDIR. */
export function postgresBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('initdb not found under /usr/lib/postgresql/*/bin (set PG_BINDIR)');
  return path.join(base, newest, 'bin');
}

/** PostgreSQL refuses to run as root: as root, its programs run as the postgres user. */
function pgCommand(program: string, args: string[]): { command: string; args: string[] } {
  const binary = path.join(postgresBinDir(), program);
  return process.getuid?.() === 0 ? { command: 'runuser', args: ['-u', 'postgres', '--', binary, ...args] } : { command: binary, args };
}

export function runPg(program: string, args: string[]): void {
  const { command, args: full } = pgCommand(program, args);
  const result = spawnSync(command, full, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${result.stderr || result.stdout || result.error?.message}`);
}

export { freePort };

export interface PgCluster {
  dir: string;
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database?: string): string;
  start(): void;
  /** Fast shutdown: open sessions are terminated ("terminating connection due to administrator command"). */
  stop(): void;
  /** Stops it if running and removes its directory. */
  destroy(): void;
}

/** Creates (initdb) and starts a cluster in a new temp directory. */
export async function createPgCluster(prefix = 'unite-hub-pg-'): Promise<PgCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout), Number(gids.stdout));
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  runPg('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const cluster: PgCluster = {
    dir,
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: () => runPg('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']),
    stop: () => runPg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']),
    destroy() {
      try {
        cluster.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
