/**
 * The benchmarks' SMTP sink: an smtp-server in a child process of its own (so its CPU is not the
 * measured worker's) that accepts and discards every message and reports how many it received.
 * `startSmtpSink()` forks this file; run as that child, it serves.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

export interface SmtpSink {
  port: number;
  /** The sink process's id (its CPU time is read from /proc by the benches). */
  pid: number;
  /** Messages the sink accepted so far. */
  received(): Promise<number>;
  stop(): void;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    port,
    pid: child.pid!,
    received: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m: { received: number }) => resolve(m.received));
        child.send({ type: 'count' });
      }),
    stop: () => child.send({ type: 'stop' }),
  };
}

function serve(): void {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 100,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received += 1;
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'count') process.send!({ received });
    if (message.type === 'stop') server.close(() => process.exit(0));
  });
}

if (process.argv.includes('--serve') && process.send) serve();
