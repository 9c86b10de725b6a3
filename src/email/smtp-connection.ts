/**
 * One SMTP session on one socket (the pool in smtp-client.ts uses it): opening it (implicit TLS,
 * greeting, EHLO, STARTTLS when offered, AUTH PLAIN or LOGIN), matching replies to commands in the
 * order they were sent, and one pipelined transaction per message whose data waits for the
 * message's hand-off hook and carries the next message's envelope behind it. With `requireTLS` (the default when there are credentials) a server
 * that offers no STARTTLS is refused before anything is sent, so credentials never cross the
 * network in clear text.
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';

export interface SmtpClientOptions {
  host: string;
  port: number;
  /** Implicit TLS (smtps). Otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  auth?: { user: string; pass: string } | undefined;
  /** Refuse an unencrypted session (no implicit TLS, no STARTTLS). Default: on with `auth`. */
  requireTLS?: boolean;
  rejectUnauthorized: boolean;
  maxConnections: number;
  /** Milliseconds for connecting and for each reply. */
  timeoutMs: number;
}

/** A reply that was not the one expected; `responseCode` is the SMTP code. */
export class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    readonly command: string,
    reply: string,
  ) {
    super(`${command}: ${reply}`);
    this.name = 'SmtpReplyError';
  }
}

/** The connection failed (refused, dropped, timed out, TLS); `code` says how. */
export class SmtpConnectionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SmtpConnectionError';
  }
}

export interface Reply {
  code: number;
  text: string;
}

export interface Job {
  from: string;
  to: string[];
  data: Buffer;
  /** Must have resolved before the data leaves (after the server's 354); a rejection sends nothing. */
  beforeData: (() => Promise<void>) | undefined;
  /** `beforeData`'s promise, started once: with the transaction, or earlier as a connection's next message. */
  handedOff?: Promise<void> | undefined;
  retried: boolean;
  resolve: (response: string) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

/** Doubles a dot at the start of a line (RFC 5321 4.5.2) and ends the data with CRLF. */
export function dotStuff(data: Buffer): Buffer {
  let body = data;
  if (body[0] === 0x2e || body.includes('\n.')) body = Buffer.from(body.toString('latin1').replace(/(^|\n)\./g, '$1..'), 'latin1');
  const endsWithCrlf = body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a;
  return endsWithCrlf ? body : Buffer.concat([body, CRLF]);
}

/** Starts a message's hand-off hook once (see Job.handedOff). */
export function startHandOff(job: Job): Promise<void> | undefined {
  if (job.beforeData && !job.handedOff) {
    job.handedOff = job.beforeData();
    job.handedOff.catch(() => undefined);
  }
  return job.handedOff;
}

/** One SMTP connection: replies are matched to waiters in the order the commands were sent. */
export class Connection {
  private socket: net.Socket | tls.TLSSocket;
  private buffer = '';
  private lines: string[] = [];
  private readonly waiters: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private failure: Error | null = null;
  extensions = new Set<string>();
  authMethods = new Set<string>();
  /** Transactions completed on this connection. */
  used = 0;
  private pipelined: { job: Job; replies: Array<Promise<Reply>> } | null = null;
  onClose: (() => void) | null = null;

  constructor(
    private readonly options: SmtpClientOptions,
    socket: net.Socket | tls.TLSSocket,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket | tls.TLSSocket): void {
    // Commands and data go out as whole writes; Nagle's algorithm would hold the second write of
    // a transaction until the first is acknowledged (a delayed ACK costs up to 40 ms).
    socket.setNoDelay(true);
    socket.setTimeout(this.options.timeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk.toString('latin1')));
    socket.on('timeout', () => this.fail(new SmtpConnectionError('ETIMEDOUT', 'SMTP server did not answer in time')));
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(new SmtpConnectionError(error.code ?? 'ECONNECTION', error.message)));
    socket.on('close', () => this.fail(new SmtpConnectionError('ECONNECTION', 'SMTP connection closed')));
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  private onData(text: string): void {
    this.buffer += text;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      this.lines.push(line);
      // "250-…" continues a reply, "250 …" (or a bare code) ends it.
      if (/^\d{3}(?: |$)/.test(line) || !/^\d{3}-/.test(line)) {
        const code = Number.parseInt(line.slice(0, 3), 10);
        const reply = { code: Number.isNaN(code) ? 0 : code, text: this.lines.join('\n') };
        this.lines = [];
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(reply);
        // A reply nobody waits for is the server going away (421); the connection is done.
        else this.fail(new SmtpConnectionError('ECONNECTION', `unexpected SMTP reply: ${reply.text}`));
      }
    }
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.socket.destroy();
    this.onClose?.();
  }

  /** Waits for the next reply. */
  reply(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Writes commands and returns one promise per expected reply, in order. */
  send(commands: string[]): Array<Promise<Reply>> {
    const replies = commands.map(() => this.reply());
    if (!this.failure) this.socket.write(commands.map((c) => `${c}\r\n`).join(''), 'latin1');
    return replies;
  }

  write(data: Buffer): void {
    if (!this.failure) this.socket.write(data);
  }

  async command(command: string, expect: number[], label = command.split(' ')[0]!): Promise<Reply> {
    const reply = await this.send([command])[0]!;
    if (!expect.includes(reply.code)) throw new SmtpReplyError(reply.code, label, reply.text);
    return reply;
  }

  async ehlo(): Promise<void> {
    const name = os.hostname();
    let reply = await this.send([`EHLO ${/^[\w.-]+\.[\w-]+$/.test(name) ? name : '[127.0.0.1]'}`])[0]!;
    if (reply.code !== 250) reply = await this.command(`HELO [127.0.0.1]`, [250]);
    this.extensions = new Set();
    this.authMethods = new Set();
    for (const line of reply.text.split('\n').slice(1)) {
      const words = line.slice(4).toUpperCase().split(/[\s=]+/);
      this.extensions.add(words[0]!);
      if (words[0] === 'AUTH') for (const method of words.slice(1)) this.authMethods.add(method);
    }
  }

  async startTls(): Promise<void> {
    await this.command('STARTTLS', [220]);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    const secured = tls.connect({ socket: plain, servername: net.isIP(this.options.host) ? undefined : this.options.host, rejectUnauthorized: this.options.rejectUnauthorized });
    this.socket = secured;
    this.attach(secured);
    await new Promise<void>((resolve, reject) => {
      secured.once('secureConnect', resolve);
      secured.once('error', reject);
    });
  }

  async authenticate(auth: { user: string; pass: string }): Promise<void> {
    const fail = (reply: Reply) => Object.assign(new SmtpConnectionError('EAUTH', `authentication failed: ${reply.text}`), { responseCode: reply.code });
    if (this.authMethods.has('PLAIN')) {
      const reply = await this.send([`AUTH PLAIN ${Buffer.from(`\u0000${auth.user}\u0000${auth.pass}`, 'utf8').toString('base64')}`])[0]!;
      if (reply.code !== 235) throw fail(reply);
      return;
    }
    if (this.authMethods.has('LOGIN')) {
      for (const [command, expect] of [
        ['AUTH LOGIN', 334],
        [Buffer.from(auth.user, 'utf8').toString('base64'), 334],
        [Buffer.from(auth.pass, 'utf8').toString('base64'), 235],
      ] as const) {
        const reply = await this.send([command])[0]!;
        if (reply.code !== expect) throw fail(reply);
      }
      return;
    }
    throw new SmtpConnectionError('EAUTH', 'the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN');
  }

  /**
   * A job's envelope commands (MAIL FROM, RCPT TO, DATA); a non-ASCII address needs SMTPUTF8.
   * Null when this server cannot take it (the transaction then refuses it with a 553).
   */
  private envelope(job: Job): string[] | null {
    const utf8 = [job.from, ...job.to].some((a) => /[^\x20-\x7e]/.test(a));
    if (utf8 && !this.extensions.has('SMTPUTF8')) return null;
    return [`MAIL FROM:<${job.from}>${utf8 ? ' SMTPUTF8' : ''}`, ...job.to.map((to) => `RCPT TO:<${to}>`), 'DATA'];
  }

  /**
   * The job whose envelope went out behind the previous message's data (RFC 2920: MAIL FROM may
   * follow the end of data in the same group), with its replies on the way; the pool runs it next
   * on this connection. Taken once.
   */
  takePipelined(): { job: Job; replies: Array<Promise<Reply>> } | null {
    const next = this.pipelined;
    this.pipelined = null;
    return next;
  }

  /**
   * One mail transaction. Resolves with the server's final reply text once it accepted.
   * `envelopeReplies`: the replies to an envelope already sent behind the previous message's data.
   * `takeNext`: with PIPELINING, the next message for this connection, whose envelope then leaves in
   * the same write as this message's data and whose hand-off starts then (see takePipelined).
   */
  async transaction(job: Job, envelopeReplies?: Array<Promise<Reply>>, takeNext?: () => Job | undefined): Promise<{ response: string; dataWritten: boolean }> {
    const commands = this.envelope(job);
    if (!commands) throw new SmtpReplyError(553, 'MAIL', 'the server does not accept non-ASCII addresses (no SMTPUTF8)');
    // The hand-off hook runs while the envelope's round trip is under way; the data waits for both.
    const handedOff = startHandOff(job);
    let replies: Reply[];
    if (envelopeReplies) {
      replies = await Promise.all(envelopeReplies);
    } else if (this.extensions.has('PIPELINING')) {
      replies = await Promise.all(this.send(commands));
    } else {
      replies = [];
      for (const command of commands) {
        const reply = await this.send([command])[0]!;
        replies.push(reply);
        if (reply.code >= 400) break;
      }
    }
    const failed = replies.findIndex((reply, i) => (i === commands.length - 1 ? reply.code !== 354 : reply.code !== 250 && reply.code !== 251));
    if (failed >= 0) {
      // RFC 2920 3.1: a 354 after a failed RCPT still opens the data phase; close it empty.
      if (replies[commands.length - 1]?.code === 354) {
        this.write(TERMINATOR);
        await this.reply().catch(() => undefined);
      }
      const reply = replies[failed]!;
      // A connection that cannot be reset is not reused; the message's outcome stays this reply.
      await this.command('RSET', [250]).catch((error: unknown) => this.fail(error as Error));
      throw new SmtpReplyError(reply.code, commands[failed]!.split(/[ :]/)[0]!, reply.text);
    }
    if (handedOff) {
      try {
        await handedOff;
      } catch (error) {
        // The server waits for data that must not come: only closing the connection ends the
        // transaction without a message (a lone terminator would deliver an empty one).
        this.fail(new SmtpConnectionError('ECONNECTION', 'connection closed: the message was not handed off'));
        throw error;
      }
    }
    const final = this.reply();
    // The next message's envelope rides behind this one's data: one write and one round trip
    // serve this message's outcome and the next one's envelope.
    const next = !this.failure && this.extensions.has('PIPELINING') ? takeNext?.() : undefined;
    const nextCommands = next && this.envelope(next);
    if (next && nextCommands) {
      startHandOff(next);
      const nextReplies = nextCommands.map(() => this.reply());
      for (const reply of nextReplies) reply.catch(() => undefined);
      this.pipelined = { job: next, replies: nextReplies };
    } else if (next) {
      // Refused by envelope() when its turn comes, with nothing sent.
      this.pipelined = { job: next, replies: [] };
    }
    // Handed to the kernel only when the terminator's write completes: a connection lost before
    // that certainly delivered nothing; after it, the server may have accepted the message.
    // Body, terminator and the next envelope leave in one system call (cork, then uncork: one writev).
    let flushed = false;
    if (!this.failure) {
      this.socket.cork();
      this.socket.write(job.data);
      this.socket.write(TERMINATOR, () => (flushed = true));
      if (nextCommands) this.socket.write(nextCommands.map((c) => `${c}\r\n`).join(''), 'latin1');
      this.socket.uncork();
    }
    let reply: Reply;
    try {
      reply = await final;
    } catch (error) {
      // The connection's one failure rejects every waiter: each message gets its own copy, marked
      // with whether its own data went out.
      const failure = error as Error & { code?: string };
      throw Object.assign(new SmtpConnectionError(failure.code ?? 'ECONNECTION', failure.message), { dataWritten: flushed });
    }
    this.used += 1;
    if (reply.code !== 250) throw new SmtpReplyError(reply.code, 'DATA', reply.text);
    return { response: reply.text, dataWritten: true };
  }

  quit(): void {
    if (this.failure) return;
    this.send(['QUIT'])[0]!.catch(() => undefined);
    this.socket.end();
  }
}

/** Opens a session ready for transactions; a failure closes the socket and rejects with why. */
export async function openConnection(options: SmtpClientOptions): Promise<Connection> {
  const { host, port, secure, timeoutMs } = options;
  const socket = await new Promise<net.Socket | tls.TLSSocket>((resolve, reject) => {
    const s = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: options.rejectUnauthorized })
      : net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new SmtpConnectionError('ETIMEDOUT', `connecting to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SmtpConnectionError(error.code ?? 'ECONNECTION', error.message));
    });
  });
  const connection = new Connection(options, socket);
  try {
    const greeting = await connection.reply();
    if (greeting.code !== 220) throw new SmtpReplyError(greeting.code, 'greeting', greeting.text);
    await connection.ehlo();
    if (!secure && connection.extensions.has('STARTTLS')) {
      await connection.startTls();
      await connection.ehlo();
    } else if (!secure && (options.requireTLS ?? options.auth !== undefined)) {
      throw new SmtpConnectionError(
        'ETLS',
        `the SMTP server at ${host}:${port} does not offer STARTTLS and TLS is required${options.auth ? ' (credentials are never sent in clear text)' : ''}: use smtps:// for implicit TLS, or add ?require_tls=false to the URL to allow a plain-text session`,
      );
    }
    if (options.auth) await connection.authenticate(options.auth);
    return connection;
  } catch (error) {
    connection.fail(error as Error);
    throw error;
  }
}
